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
# The release name Tilt and the README use; the secrets seed is named after it.
RELEASE=reservex
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

step() { printf '\n==> %s\n' "$*"; }

if [[ "${1:-}" == "--kind" ]]; then
  if ! kind get clusters 2>/dev/null | grep -qx reservex; then
    step "kind cluster reservex"
    kind create cluster --config "$here/kind-config.yaml" --wait 120s
  fi
  kubectl config use-context kind-reservex
fi

# helm installs a chart's CRDs only on the first install and never updates them: apply the pinned
# versions' CRDs first, every run, so an upgrade of an operator gets its new schemas too.
crds() { # chart-ref args...
  helm show crds "$@" | kubectl apply --server-side --force-conflicts -f -
}

step "Dapr $DAPR_VERSION"
crds dapr --repo https://dapr.github.io/helm-charts --version "$DAPR_VERSION"
# ReserveX uses no actors, workflows or jobs: without the scheduler (three replicas, hard-coded) and
# the placement service, the control plane fits a small node.
helm upgrade --install dapr dapr \
  --repo https://dapr.github.io/helm-charts --version "$DAPR_VERSION" \
  --namespace dapr-system --create-namespace \
  --set global.ha.enabled=false \
  --set global.scheduler.enabled=false \
  --set global.actors.enabled=false \
  --set global.logAsJson=true \
  --set dapr_sidecar_injector.sidecarDropALLCapabilities=true \
  --wait --timeout 10m

step "Strimzi $STRIMZI_VERSION"
crds oci://quay.io/strimzi-helm/strimzi-kafka-operator --version "$STRIMZI_VERSION"
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

step "secrets seed"
# Every password and key of the release derives from one random seed (charts/reservex/README.md,
# "Secrets"), kept in the Secret the chart renders. Generated here once per cluster, with a copy in
# .reservex/secrets-seed for Tilt (helm template cannot read the cluster). The cluster's seed wins;
# a cluster without one gets the copy's, so a new kind cluster keeps the passwords Tilt renders.
seed_secret=$RELEASE-secrets-seed
seed_file=$here/../.reservex/secrets-seed
seed=$(kubectl -n "$NAMESPACE" get secret "$seed_secret" -o jsonpath='{.data.seed}' 2>/dev/null | base64 -d || true)
if [[ -z $seed ]]; then
  if [[ -s $seed_file ]]; then
    seed=$(cat "$seed_file")
  else
    seed=$(head -c 36 /dev/urandom | base64 | tr '+/' '-_')
  fi
  # Labelled as the release's own, so that a later `helm install` adopts it.
  kubectl -n "$NAMESPACE" create secret generic "$seed_secret" --from-literal=seed="$seed" --dry-run=client -o yaml |
    kubectl label --local -f - -o yaml app.kubernetes.io/managed-by=Helm |
    kubectl annotate --local -f - -o yaml meta.helm.sh/release-name="$RELEASE" \
      meta.helm.sh/release-namespace="$NAMESPACE" helm.sh/resource-policy=keep |
    kubectl apply -f -
fi
mkdir -p "$(dirname "$seed_file")"
(umask 077 && printf '%s\n' "$seed" >"$seed_file")

cat <<DONE

Cluster ready for ReserveX. Next:
  tilt up                                                   # development, live update
  helm upgrade --install reservex charts/reservex -n $NAMESPACE --wait --timeout 15m   # an install
DONE
