#!/usr/bin/env bash
# Installs what the ReserveX chart needs in a cluster, at pinned versions, into the current kube context:
#   Dapr control plane      (Helm chart dapr/dapr)                 namespace dapr-system
#   Strimzi Kafka operator  (Helm chart strimzi-kafka-operator)    namespace strimzi
#   CloudNativePG operator  (its release manifest)                 namespace cnpg-system
# and creates the ReserveX namespace. Safe to run again (upgrade --install, server-side apply).
#
#   k8s/bootstrap.sh            use the current context
#   k8s/bootstrap.sh --kind     first create the kind cluster from k8s/kind-config.yaml (if missing)
#
# Needs: kubectl, helm 3.8+ (OCI charts), and kind for --kind.
set -euo pipefail

DAPR_VERSION=1.18.2
STRIMZI_VERSION=0.49.1
CNPG_VERSION=1.27.1
NAMESPACE=${RESERVEX_NAMESPACE:-reservex}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

step() { printf '\n==> %s\n' "$*"; }

if [[ "${1:-}" == "--kind" ]]; then
  if ! kind get clusters 2>/dev/null | grep -qx reservex; then
    step "kind cluster reservex"
    kind create cluster --config "$here/kind-config.yaml" --wait 120s
  fi
  kubectl config use-context kind-reservex
fi

step "Dapr $DAPR_VERSION"
helm upgrade --install dapr dapr \
  --repo https://dapr.github.io/helm-charts --version "$DAPR_VERSION" \
  --namespace dapr-system --create-namespace \
  --set global.ha.enabled=false \
  --set global.logAsJson=true \
  --set dapr_sidecar_injector.sidecarDropALLCapabilities=true \
  --wait --timeout 10m

step "Strimzi $STRIMZI_VERSION"
helm upgrade --install strimzi oci://quay.io/strimzi-helm/strimzi-kafka-operator \
  --version "$STRIMZI_VERSION" \
  --namespace strimzi --create-namespace \
  --set watchAnyNamespace=true \
  --wait --timeout 10m

step "CloudNativePG $CNPG_VERSION"
kubectl apply --server-side --force-conflicts \
  -f "https://raw.githubusercontent.com/cloudnative-pg/cloudnative-pg/release-${CNPG_VERSION%.*}/releases/cnpg-${CNPG_VERSION}.yaml"
kubectl -n cnpg-system rollout status deployment/cnpg-controller-manager --timeout 5m

step "namespace $NAMESPACE"
kubectl create namespace "$NAMESPACE" --dry-run=client -o yaml | kubectl apply -f -

cat <<DONE

Cluster ready for ReserveX. Next:
  tilt up                                                   # development, live update
  helm upgrade --install reservex charts/reservex -n $NAMESPACE --wait --timeout 15m   # an install
DONE
