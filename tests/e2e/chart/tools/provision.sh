#!/usr/bin/env bash
# Provisions the tools the chart checks need into ${RESERVEX_CACHE:-~/.cache/reservex}/tools, pinned, from
# the package registries only (Go module proxy, PyPI, npm). Idempotent: each tool lands in a folder named
# after its version and is built once; a lock makes concurrent runs wait for each other. Prints the
# tools' paths as JSON on stdout (progress goes to stderr).
#
#   helm            helm.sh/helm/v3 (Go module), renders and lints the chart
#   kubeconform     github.com/yannh/kubeconform (Go module), validates rendered objects
#   k8s schemas     JSON schemas of the Kubernetes API, shipped in the PyPI package kubernetes-validate
#   dapr CRDs       charts/dapr/crds of the Dapr Go module github.com/dapr/dapr
#   CRD validators  @kubernetes-models/strimzi-kafka-operator and @kubernetes-models/cloudnative-pg (npm),
#                   lock file beside this script
#   tiltfile-eval   the Starlark interpreter Tilt embeds with Tilt's built-ins declared (../tiltfile-eval)
# With --control-plane, also what the API-server check (../apiserver.test.ts) runs:
#   control plane   etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kubectl, built from
#                   the wrapper module local/provision/kubernetes (k8s.io/kubernetes at a pinned patch)
#   kwok            sigs.k8s.io/kwok (Go module): a node without a kubelet, its pods driven by stages
#   CNPG CRDs       config/crd/bases of the CloudNativePG Go module github.com/cloudnative-pg/cloudnative-pg
# With --node, also what the cluster test (tests/cluster) runs on top of the control plane:
#   node            kubelet and kube-proxy from the same wrapper module, stamped the same way
set -euo pipefail

HELM_VERSION=v3.22.0
KUBECONFORM_VERSION=v0.8.0
KUBERNETES_VALIDATE_VERSION=1.37.0
KUBERNETES_VERSION=1.34.0
# What helm's Makefile stamps in: its version, and the Kubernetes version it assumes without a cluster
# (its client-go minor; 0.37 -> 1.37).
HELM_LDFLAGS="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION
  -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=37
  -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=37"
DAPR_VERSION=v1.18.2
# The control plane of the API-server check: the patch release the wrapper module pins, stamped the way
# Kubernetes' own build does (otherwise it reports v0.0.0-master and helm's kubeVersion check fails).
KUBERNETES_RELEASE=v1.34.4
KUBE_LDFLAGS="-s -w
  -X k8s.io/component-base/version.gitVersion=$KUBERNETES_RELEASE -X k8s.io/component-base/version.gitMajor=1
  -X k8s.io/component-base/version.gitMinor=34 -X k8s.io/component-base/version.gitTreeState=clean
  -X k8s.io/client-go/pkg/version.gitVersion=$KUBERNETES_RELEASE -X k8s.io/client-go/pkg/version.gitMajor=1
  -X k8s.io/client-go/pkg/version.gitMinor=34 -X k8s.io/client-go/pkg/version.gitTreeState=clean"
KWOK_VERSION=v0.7.0
CNPG_VERSION=v1.27.1
control_plane=false node=false
[[ ${1:-} == --control-plane ]] && control_plane=true
[[ ${1:-} == --node ]] && control_plane=true node=true

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tools=${RESERVEX_CACHE:-$HOME/.cache/reservex}/tools
mkdir -p "$tools"
export GOFLAGS=-buildvcs=false GOTOOLCHAIN=local

# shellcheck source=../../../support/provision.sh
source "$here/../../../support/provision.sh"

go_install() { # module@version dest [ldflags]
  local tmp
  tmp=$(mktemp -d "$tools/.go.XXXXXX")
  GOBIN="$tmp" go install -trimpath -ldflags "${3:-}" "$1"
  mv "$tmp"/* "$2"
  rm -rf "$tmp"
}

kubernetes_schemas() { # dest
  local tmp
  tmp=$(mktemp -d "$tools/.pip.XXXXXX")
  python3 -m pip download --quiet --no-deps --only-binary=:all: --disable-pip-version-check \
    -d "$tmp" "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
  python3 - "$tmp"/kubernetes_validate-*.whl "v$KUBERNETES_VERSION-local-strict" "$tmp/out" <<'PY'
import json, os, sys, zipfile
wheel, folder, out = sys.argv[1:]
prefix = f'kubernetes_validate/kubernetes-json-schema/{folder}/'
with zipfile.ZipFile(wheel) as z:
    names = [n for n in z.namelist() if n.startswith(prefix) and n.endswith('.json')]
    if not names:
        sys.exit(f'{folder} is not in {wheel}')
    os.makedirs(out)
    for n in names:
        # The package's schemas name themselves with an https $id and reach the shared definitions
        # through it; without the $id, references resolve beside the file, which is what a validator
        # reading files (kubeconform) needs.
        schema = json.loads(z.read(n).replace(b'"/api/_definitions.json#', b'"_definitions.json#'))
        schema.pop('$id', None)
        with open(os.path.join(out, n[len(prefix):]), 'w') as f:
            json.dump(schema, f)
PY
  mkdir -p "$(dirname "$1")"
  mv "$tmp/out" "$1"
  rm -rf "$tmp"
}

module_crds() { # module@version folder-in-module dest: a module's CRD manifests, from the Go module proxy
  local dir
  dir=$(cd "$here" && go mod download -json "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
  mkdir -p "$3.partial"
  cp "$dir/$2"/*.yaml "$3.partial/"
  chmod -R u+w "$3.partial"
  mv "$3.partial" "$3"
}

crd_validators() { # dest
  rm -rf "$1.partial" && mkdir -p "$1.partial"
  cp "$here/npm/package.json" "$here/npm/package-lock.json" "$1.partial/"
  (cd "$1.partial" && npm ci --silent --no-audit --no-fund --ignore-scripts --loglevel=error >&2)
  mv "$1.partial" "$1"
}

control_plane() { # dest-dir
  local tmp module
  module=$here/../../../../local/provision/kubernetes
  tmp=$(mktemp -d "$tools/.go.XXXXXX")
  (cd "$module" && go build -trimpath -ldflags "$KUBE_LDFLAGS" -o "$tmp/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl ./etcd)
  mv "$tmp" "$1"
}

node_binaries() { # dest-dir
  local tmp
  tmp=$(mktemp -d "$tools/.go.XXXXXX")
  (cd "$kube_module" && go build -trimpath -ldflags "$KUBE_LDFLAGS" -o "$tmp/" \
    k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-proxy)
  mv "$tmp" "$1"
}

tiltfile_eval() { # dest
  local tmp
  tmp=$(mktemp -d "$tools/.go.XXXXXX")
  (cd "$here/../tiltfile-eval" && go build -o "$tmp/tiltfile-eval" .)
  mv "$tmp/tiltfile-eval" "$1"
  rm -rf "$tmp"
}

helm=$tools/helm-$HELM_VERSION-$(echo "$HELM_LDFLAGS" | sha256sum | cut -c1-8)/helm
kubeconform=$tools/kubeconform-$KUBECONFORM_VERSION/kubeconform
schemas=$tools/kubernetes-json-schema-$KUBERNETES_VALIDATE_VERSION-r3/v$KUBERNETES_VERSION-local-strict
dapr=$tools/dapr-crds-$DAPR_VERSION
validators_hash=$(cat "$here/npm/package-lock.json" | sha256sum | cut -c1-12)
validators=$tools/crd-validators-$validators_hash
eval_hash=$(cat "$here/../tiltfile-eval/"{go.mod,go.sum,main.go} | sha256sum | cut -c1-12)
tilt_eval=$tools/tiltfile-eval-$eval_hash/tiltfile-eval
kube_module=$here/../../../../local/provision/kubernetes
kube_hash=$( (cat "$kube_module/"{go.mod,go.sum,etcd/main.go}; echo "$KUBE_LDFLAGS") | sha256sum | cut -c1-12)
kube=$tools/kubernetes-$KUBERNETES_RELEASE-$kube_hash
kube_node=$tools/kubernetes-node-$KUBERNETES_RELEASE-$kube_hash
kwok=$tools/kwok-$KWOK_VERSION/kwok
cnpg=$tools/cnpg-crds-$CNPG_VERSION

(
  flock 9
  [[ -x $helm ]] || { mkdir -p "$(dirname "$helm")" && timed "helm $HELM_VERSION" go_install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" "$helm" "$HELM_LDFLAGS"; }
  [[ -x $kubeconform ]] || { mkdir -p "$(dirname "$kubeconform")" && timed "kubeconform $KUBECONFORM_VERSION" go_install "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION" "$kubeconform"; }
  [[ -d $schemas ]] || timed "Kubernetes $KUBERNETES_VERSION JSON schemas" kubernetes_schemas "$schemas"
  [[ -d $dapr ]] || timed "Dapr $DAPR_VERSION CRDs" module_crds "github.com/dapr/dapr@$DAPR_VERSION" charts/dapr/crds "$dapr"
  [[ -d $validators ]] || timed "Strimzi and CloudNativePG validators" crd_validators "$validators"
  [[ -x $tilt_eval ]] || { mkdir -p "$(dirname "$tilt_eval")" && timed "tiltfile-eval" tiltfile_eval "$tilt_eval"; }
  if $control_plane; then
    [[ -d $kube ]] || timed "Kubernetes $KUBERNETES_RELEASE control plane and etcd" control_plane "$kube"
    [[ -x $kwok ]] || { mkdir -p "$(dirname "$kwok")" && timed "kwok $KWOK_VERSION" go_install "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" "$kwok"; }
    [[ -d $cnpg ]] || timed "CloudNativePG $CNPG_VERSION CRDs" module_crds "github.com/cloudnative-pg/cloudnative-pg@$CNPG_VERSION" config/crd/bases "$cnpg"
  fi
  if $node; then
    [[ -d $kube_node ]] || timed "Kubernetes $KUBERNETES_RELEASE kubelet and kube-proxy" node_binaries "$kube_node"
  fi
) 9>"$tools/.provision.lock"

cat <<JSON
{
  "helm": "$helm",
  "helmVersion": "$HELM_VERSION",
  "kubeconform": "$kubeconform",
  "kubeconformVersion": "$KUBECONFORM_VERSION",
  "kubernetesVersion": "$KUBERNETES_VERSION",
  "kubernetesSchemas": "$schemas",
  "daprCrds": "$dapr",
  "daprVersion": "$DAPR_VERSION",
  "crdValidators": "$validators/node_modules",
  "tiltfileEval": "$tilt_eval",
  "kubernetesRelease": "$KUBERNETES_RELEASE",
  "controlPlane": "$kube",
  "node": "$kube_node",
  "kwok": "$kwok",
  "cnpgCrds": "$cnpg",
  "cnpgVersion": "$CNPG_VERSION"
}
JSON
