#!/usr/bin/env bash
# `npm run test:cluster`: a real single-node Kubernetes cluster on this machine, then checks against it.
#
# The node: etcd, kube-apiserver, kube-controller-manager and kube-scheduler (the same builds as the
# API-server check), a kubelet on containerd + runc, a CNI bridge and kube-proxy (iptables). The images
# come from OCI archives made here (./provision.sh), imported into containerd's k8s.io namespace; the
# pods' sandbox image is the project's own pause program. Nothing is pulled from a registry.
#
# Everything lives in one run folder (${RESERVEX_CACHE:-~/.cache/reservex}/cluster/run): certificates,
# logs, etcd's data, the kubelet's and containerd's state, the pods' network namespaces. The cluster's
# addresses are on a bridge of its own (10.213.0.1/24, services 10.214.0.0/24), so nothing listens on the
# machine's network; the control plane's other ports are free loopback ports. On exit (or Ctrl-C) the
# pods are deleted, the processes it started are ended by pid, mounts under the run folder unmounted,
# kube-proxy's rules removed and the bridge deleted; a run that was killed is cleaned up by the next.
#
#   --keep   leave the cluster running after the checks, passed or failed (prints how to reach it;
#            `--down` ends it)
#   --down   only clean up a kept or killed run
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${RESERVEX_CACHE:-$HOME/.cache/reservex}
run=$cache/cluster/run
NODE=reservex-node
BRIDGE=rxk8s0
NODE_IP=10.213.0.1
POD_CIDR=10.213.0.0/24
SERVICE_CIDR=10.214.0.0/24
API_SERVICE_IP=10.214.0.1
CLUSTER_DNS=10.214.0.10
API_PORT=6443
CHECK_NAMESPACE=reservex-cluster-check
RELEASE_NAMESPACE=reservex
KAFKA_PORT=9092
keep=false down=false
case ${1:-} in
--keep) keep=true ;;
--down) down=true ;;
'') ;;
*)
  echo "test:cluster: unknown argument $1 (--keep or --down)" >&2
  exit 2
  ;;
esac

started=$SECONDS
# Ctrl-C or a TERM ends the run through the EXIT trap (which cleans up once anything has started).
trap 'exit 130' INT TERM
# The trap may run inside a command whose stderr is silenced: it reports on the run's own stderr, kept here.
exec 3>&2
say() { echo "test:cluster: [$((SECONDS - started))s] $*" >&2; }
fail() {
  echo "test:cluster: FAILED: $*" >&2
  exit 1
}

# ---- prerequisites: one clear line each, before anything is started ------------------------------
prerequisites() {
  [[ $(id -u) == 0 ]] || fail "needs root (it runs containerd, a kubelet, iptables and mounts); run it as root"
  [[ $(uname -s) == Linux ]] || fail "needs Linux"
  local c
  if [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then
    for c in cpu memory pids; do
      grep -qw "$c" /sys/fs/cgroup/cgroup.controllers || fail "cgroup v2 controller '$c' is not available"
    done
  else
    for c in cpu cpuacct memory pids devices freezer cpuset; do
      [[ -d /sys/fs/cgroup/$c ]] || fail "cgroup v1 controller '$c' is not mounted under /sys/fs/cgroup"
    done
  fi
  grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null || fail "the kernel has no overlay filesystem"
  [[ -d /proc/sys/net/bridge ]] || modprobe br_netfilter 2>/dev/null ||
    fail "the kernel has no bridge netfilter (br_netfilter): service routing to pods on the bridge needs it"
  for c in go python3 openssl ip flock findmnt; do
    command -v "$c" >/dev/null || fail "'$c' is not installed"
  done
  command -v apt-get >/dev/null || command -v containerd >/dev/null ||
    fail "neither apt-get nor containerd: the node's packages (containerd, runc, CNI plugins) cannot be provisioned"
  if ip -4 -o addr show | grep -v " $BRIDGE " | grep -q " ${NODE_IP%.*}\."; then
    fail "the cluster's network ${POD_CIDR} is already in use on this machine"
  fi
}

# ---- processes, by pid ------------------------------------------------------------------------------
start() { # name binary args...
  local name=$1
  shift
  "$@" >"$run/logs/$name.log" 2>&1 &
  echo "$name $! $1" >>"$run/pids"
}

# True if pid is still the process this run started (its executable is the one recorded).
ours() { # pid binary
  [[ -e /proc/$1 ]] && [[ $(readlink "/proc/$1/exe" 2>/dev/null) == "$(readlink -f "$2")" ]]
}

stop_pid() { # pid binary
  ours "$1" "$2" || return 0
  kill -TERM "$1" 2>/dev/null || true
  local i
  for i in $(seq 50); do
    ours "$1" "$2" || return 0
    sleep 0.2
  done
  kill -KILL "$1" 2>/dev/null || true
}

stop_named() { # name...
  [[ -f $run/pids ]] || return 0
  local name pid bin want
  for want in "$@"; do
    while read -r name pid bin; do
      if [[ $name == "$want" ]]; then stop_pid "$pid" "$bin"; fi
    done <"$run/pids"
  done
  return 0
}

# The containerd shims of this run: their command line names this run's containerd socket.
stop_shims() {
  local sock=$run/containerd/containerd.sock pid
  for pid in $(ls /proc | grep -E '^[0-9]+$'); do
    if tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -q -- "-address $sock "; then
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  return 0
}

# ---- cleanup: safe to run on a half-started, finished or killed run -----------------------------
cleanup() {
  [[ -d $run ]] || return 0
  # Best effort from here on: every step runs whatever the previous one did.
  set +e
  local kubectl_bin sock=$run/containerd/containerd.sock
  kubectl_bin=$(cat "$run/kubectl-path" 2>/dev/null || true)
  if [[ -n $kubectl_bin && -f $run/admin.kubeconfig ]] && [[ -S $sock ]]; then
    # Pods deleted through the API: the kubelet stops them and tears their network down.
    timeout 20 "$kubectl_bin" --kubeconfig "$run/admin.kubeconfig" delete namespace "$CHECK_NAMESPACE" \
      --ignore-not-found --wait=false >/dev/null 2>&1 || true
    timeout 30 "$kubectl_bin" --kubeconfig "$run/admin.kubeconfig" delete pods --all --all-namespaces \
      --grace-period=1 --wait=true >/dev/null 2>&1 || true
  fi
  stop_named kube-proxy kubelet
  if [[ -S $sock ]]; then
    local id
    for id in $(ctr --address "$sock" -n k8s.io tasks ls -q 2>/dev/null); do
      ctr --address "$sock" -n k8s.io tasks kill -s SIGKILL "$id" >/dev/null 2>&1 || true
    done
    sleep 1
    for id in $(ctr --address "$sock" -n k8s.io tasks ls -q 2>/dev/null); do
      ctr --address "$sock" -n k8s.io tasks delete -f "$id" >/dev/null 2>&1 || true
    done
    for id in $(ctr --address "$sock" -n k8s.io containers ls -q 2>/dev/null); do
      ctr --address "$sock" -n k8s.io containers delete "$id" >/dev/null 2>&1 || true
    done
  fi
  stop_named containerd
  stop_shims
  stop_named kafka kube-scheduler kube-controller-manager kube-apiserver etcd
  # Mounts under the run folder, deepest first: pod volumes, container root filesystems, network
  # namespaces (containerd keeps them under its state folder here).
  local target
  findmnt -rn -o TARGET | grep -F "$run/" | sort -r | while read -r target; do
    umount -l "$(printf '%b' "$target")" 2>/dev/null || true
  done
  # The pods' cgroups the kubelet made (empty once their processes are gone).
  find /sys/fs/cgroup/*/kubepods -depth -type d -exec rmdir {} + 2>/dev/null || true
  local proxy
  proxy=$(awk '$1 == "kube-proxy" { print $3 }' "$run/pids" 2>/dev/null || true)
  [[ -n $proxy && -x $proxy ]] && "$proxy" --cleanup >/dev/null 2>&1
  # What kube-proxy's cleanup leaves: the kubelet's own chains (KUBE-FIREWALL, the canaries). Only a
  # kubelet or kube-proxy makes KUBE-* chains, and this machine runs no other.
  local cmd table rule chain
  for cmd in iptables ip6tables; do
    for table in filter nat mangle; do
      "$cmd" -t "$table" -S 2>/dev/null | grep -E '^-A .* -j KUBE-' | while read -r rule; do
        eval "$cmd -t $table ${rule/-A/-D}" 2>/dev/null
      done
      for chain in $("$cmd" -t "$table" -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^KUBE-/ { print $2 }'); do
        "$cmd" -t "$table" -F "$chain" 2>/dev/null
      done
      for chain in $("$cmd" -t "$table" -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^KUBE-/ { print $2 }'); do
        "$cmd" -t "$table" -X "$chain" 2>/dev/null
      done
    done
  done
  # The bridge plugin's masquerading (a chain per pod, commented with this network's name) of a pod
  # whose teardown did not run.
  local chains
  chains=$(iptables -t nat -S POSTROUTING 2>/dev/null | grep -F 'name: \"reservex-cluster\"' |
    sed -n 's/.* -j \(CNI-[0-9a-f]*\)$/\1/p')
  iptables -t nat -S POSTROUTING 2>/dev/null | grep -F 'name: \"reservex-cluster\"' | while read -r rule; do
    eval "iptables -t nat ${rule/-A/-D}" 2>/dev/null
  done
  for chain in $chains; do iptables -t nat -F "$chain" 2>/dev/null; iptables -t nat -X "$chain" 2>/dev/null; done
  ip link show "$BRIDGE" >/dev/null 2>&1 && ip link delete "$BRIDGE" 2>/dev/null || true
  if [[ -f $run/sysctl ]]; then
    local key value
    while read -r key value; do sysctl -qw "$key=$value" 2>/dev/null || true; done <"$run/sysctl"
  fi
  rm -rf "$run"
  set -e
}

if $down; then
  cleanup
  say "cleaned up"
  exit 0
fi

prerequisites
# A previous run that was killed (or kept) leaves its run folder: end it first.
if [[ -d $run ]]; then
  say "cleaning up the previous run"
  cleanup
fi

say "provisioning (tests/cluster/provision.sh) ..."
tools=$(bash "$here/provision.sh" --services)
tool() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$tools" "$1"; }
control_plane=$(tool controlPlane)
node_bin=$(tool node)
cni_plugins=$(tool cniPlugins)
pause_image=$(tool pauseImage)
base_image=$(tool baseImage)
say "provisioned"

mkdir -p "$run/logs"
: >"$run/pids"
echo "$control_plane/kubectl" >"$run/kubectl-path"
trap 'status=$?; exec 2>&3; if $keep; then say "kept running: export KUBECONFIG=$run/admin.kubeconfig; kubectl is $control_plane/kubectl; logs in $run/logs; end it with npm run test:cluster -- --down"; else say "cleaning up"; cleanup; fi; exit $status' EXIT

# ---- network: the bridge first, so the API server can listen on the node's address -------------------
ip link add "$BRIDGE" type bridge
ip addr add "$NODE_IP/24" dev "$BRIDGE"
ip link set "$BRIDGE" up
for key in net.ipv4.ip_forward net.bridge.bridge-nf-call-iptables; do
  echo "$key $(sysctl -n "$key")" >>"$run/sysctl"
done
sysctl -qw net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1

# ---- certificates -------------------------------------------------------------------------------------
pki=$run/pki
mkdir -p "$pki"
ssl() { openssl "$@" 2>/dev/null >/dev/null; }
ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
ssl req -x509 "${ec[@]}" -keyout "$pki/ca.key" -out "$pki/ca.crt" -days 2 -subj /CN=reservex-cluster-ca
sign() { # name subject extensions
  printf '%b' "$3" >"$pki/$1.ext"
  ssl req "${ec[@]}" -keyout "$pki/$1.key" -out "$pki/$1.csr" -subj "$2"
  ssl x509 -req -in "$pki/$1.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial -days 2 \
    -out "$pki/$1.crt" -extfile "$pki/$1.ext"
}
sign apiserver /CN=kube-apiserver "subjectAltName=IP:$NODE_IP,IP:$API_SERVICE_IP,IP:127.0.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local\nextendedKeyUsage=serverAuth\n"
sign admin /O=system:masters/CN=reservex-cluster-admin 'extendedKeyUsage=clientAuth\n'
sign apiserver-kubelet /O=system:masters/CN=kube-apiserver-kubelet-client 'extendedKeyUsage=clientAuth\n'
sign kubelet "/O=system:nodes/CN=system:node:$NODE" 'extendedKeyUsage=clientAuth\n'
sign kubelet-serving "/CN=$NODE" "subjectAltName=IP:$NODE_IP,DNS:$NODE\nextendedKeyUsage=serverAuth\n"
sign kube-proxy /CN=system:kube-proxy 'extendedKeyUsage=clientAuth\n'
ssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$pki/sa.key"
ssl pkey -in "$pki/sa.key" -pubout -out "$pki/sa.pub"
kubeconfig() { # user
  cat >"$run/$1.kubeconfig" <<YAML
apiVersion: v1
kind: Config
clusters:
  - name: reservex
    cluster: { server: "https://$NODE_IP:$API_PORT", certificate-authority: "$pki/ca.crt" }
users:
  - name: $1
    user: { client-certificate: "$pki/$1.crt", client-key: "$pki/$1.key" }
contexts:
  - name: reservex
    context: { cluster: reservex, user: $1 }
current-context: reservex
YAML
}
kubeconfig admin
kubeconfig kubelet
kubeconfig kube-proxy
export KUBECONFIG=$run/admin.kubeconfig
kubectl() { "$control_plane/kubectl" --cache-dir "$run/kube-cache" "$@"; }

wait_for() { # what seconds log command...
  local what=$1 seconds=$2 log=$3 deadline
  shift 3
  deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      [[ -n $log ]] && tail -n 20 "$run/logs/$log.log" >&2
      fail "$what not ready within ${seconds}s (log: $run/logs/${log:-}.log)"
    fi
    sleep 0.5
  done
}

free_ports() { # count
  python3 - "$1" <<'PY'
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(('127.0.0.1', 0))
print(' '.join(str(s.getsockname()[1]) for s in socks))
PY
}
read -r etcd_client etcd_peer cm_port sched_port kubelet_healthz proxy_healthz proxy_metrics <<<"$(free_ports 7)"

# ---- control plane ------------------------------------------------------------------------------------
etcd_url=http://127.0.0.1:$etcd_client
start etcd "$control_plane/etcd" --name=reservex --data-dir="$run/etcd" \
  --listen-client-urls="$etcd_url" --advertise-client-urls="$etcd_url" \
  --listen-peer-urls="http://127.0.0.1:$etcd_peer" --initial-advertise-peer-urls="http://127.0.0.1:$etcd_peer" \
  --initial-cluster="reservex=http://127.0.0.1:$etcd_peer" --unsafe-no-fsync --log-level=warn
start kube-apiserver "$control_plane/kube-apiserver" --etcd-servers="$etcd_url" \
  --bind-address="$NODE_IP" --secure-port="$API_PORT" --advertise-address="$NODE_IP" \
  --tls-cert-file="$pki/apiserver.crt" --tls-private-key-file="$pki/apiserver.key" --client-ca-file="$pki/ca.crt" \
  --kubelet-client-certificate="$pki/apiserver-kubelet.crt" --kubelet-client-key="$pki/apiserver-kubelet.key" \
  --service-account-key-file="$pki/sa.pub" --service-account-signing-key-file="$pki/sa.key" \
  --service-account-issuer=https://kubernetes.default.svc --service-cluster-ip-range="$SERVICE_CIDR" \
  --kubelet-preferred-address-types=InternalIP --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction --profiling=false --v=1
wait_for kube-apiserver 120 kube-apiserver kubectl get --raw /readyz
say "kube-apiserver ready on $NODE_IP:$API_PORT"
start kube-controller-manager "$control_plane/kube-controller-manager" --kubeconfig="$KUBECONFIG" \
  --authentication-kubeconfig="$KUBECONFIG" --authorization-kubeconfig="$KUBECONFIG" \
  --bind-address=127.0.0.1 --secure-port="$cm_port" --service-account-private-key-file="$pki/sa.key" \
  --root-ca-file="$pki/ca.crt" --service-cluster-ip-range="$SERVICE_CIDR" --cluster-cidr="$POD_CIDR" \
  --use-service-account-credentials --leader-elect=false --profiling=false --v=1
start kube-scheduler "$control_plane/kube-scheduler" --kubeconfig="$KUBECONFIG" \
  --authentication-kubeconfig="$KUBECONFIG" --authorization-kubeconfig="$KUBECONFIG" \
  --bind-address=127.0.0.1 --secure-port="$sched_port" --leader-elect=false --profiling=false --v=1

# ---- containerd + runc, the images --------------------------------------------------------------------
mkdir -p "$run/containerd" "$run/cni/net.d" "$cache/cluster/containerd"
cat >"$run/containerd/config.toml" <<TOML
version = 2
# The image store persists across runs (a warm run imports nothing new); all state is in the run folder.
root = "$cache/cluster/containerd"
state = "$run/containerd/state"
[grpc]
  address = "$run/containerd/containerd.sock"
[ttrpc]
  address = "$run/containerd/containerd.sock.ttrpc"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$pause_image"
  # Without CAP_SYS_RESOURCE an oom_score_adj below containerd's own is refused.
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  disable_apparmor = true
  stream_server_address = "127.0.0.1"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        # cgroups v1 hybrid here: runc, cgroupfs (crun refuses the hierarchy).
        BinaryName = "$(command -v runc)"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$cni_plugins"
    conf_dir = "$run/cni/net.d"
TOML
cat >"$run/cni/net.d/10-reservex.conflist" <<JSON
{
  "cniVersion": "0.4.0",
  "name": "reservex-cluster",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": true,
      "ipMasq": true,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$run/cni/ipam",
        "ranges": [[{ "subnet": "$POD_CIDR", "gateway": "$NODE_IP", "rangeStart": "${NODE_IP%.*}.10" }]],
        "routes": [{ "dst": "0.0.0.0/0" }]
      }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
JSON
start containerd "$(command -v containerd)" --config "$run/containerd/config.toml"
ctr_() { ctr --address "$run/containerd/containerd.sock" -n k8s.io "$@"; }
wait_for containerd 30 containerd ctr_ version
for image in pause base coredns dapr daprd node cnpg postgres redis jaeger; do
  name=$(tool "${image}Image")
  if ! ctr_ images ls -q | grep -qxF "$name" || [[ $(tool "${image}Archive") -nt $cache/cluster/containerd/.imported-$image ]]; then
    ctr_ images import "$(tool "${image}Archive")" >/dev/null
    touch "$cache/cluster/containerd/.imported-$image"
  fi
done
say "containerd ready, images $pause_image and $base_image in its k8s.io namespace"
# The services' images, built by podman from services/Dockerfile: an archive is imported once (its
# name is the image's id).
services=$(python3 -c 'import json,sys; print(" ".join(sorted(json.loads(sys.argv[1])["serviceImages"])))' "$tools")
for service in $services; do
  archive=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["serviceImages"][sys.argv[2]]["archive"])' "$tools" "$service")
  if [[ ! -f $cache/cluster/containerd/.imported-$(basename "$archive") ]] ||
    ! ctr_ images ls -q | grep -qxF "reservex.local/$service:cluster"; then
    ctr_ images import "$archive" >/dev/null
    touch "$cache/cluster/containerd/.imported-$(basename "$archive")"
  fi
  # The name the chart gives it: <global.imageRegistry>/reservex-<service>:<global.imageTag>.
  ctr_ images tag --force "reservex.local/$service:cluster" "reservex.local/reservex-$service:cluster" >/dev/null
done
say "the services' images (podman, services/Dockerfile) imported: $services"
# The eight Dapr apps (card-sandbox, the card provider's test mode, has no sidecar).
apps=${services/card-sandbox/}

# ---- kubelet, kube-proxy --------------------------------------------------------------------------------
mkdir -p "$run/kubelet"
cat >"$run/kubelet/config.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
containerRuntimeEndpoint: unix://$run/containerd/containerd.sock
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
address: $NODE_IP
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $kubelet_healthz
tlsCertFile: $pki/kubelet-serving.crt
tlsPrivateKeyFile: $pki/kubelet-serving.key
authentication:
  anonymous: { enabled: false }
  webhook: { enabled: true }
  x509: { clientCAFile: $pki/ca.crt }
authorization: { mode: Webhook }
clusterDomain: cluster.local
clusterDNS: [$CLUSTER_DNS]
resolvConf: /etc/resolv.conf
serializeImagePulls: false
podLogsDir: $run/kubelet/pod-logs
# The machine's disk is shared: evict on nothing but an almost full one.
evictionHard: { memory.available: 100Mi, nodefs.available: 2%, imagefs.available: 2% }
imageGCHighThresholdPercent: 100
YAML
start kubelet "$node_bin/kubelet" --config="$run/kubelet/config.yaml" --kubeconfig="$run/kubelet.kubeconfig" \
  --root-dir="$run/kubelet" --hostname-override="$NODE" --node-ip="$NODE_IP" --v=1
start kube-proxy "$node_bin/kube-proxy" --kubeconfig="$run/kube-proxy.kubeconfig" --hostname-override="$NODE" \
  --proxy-mode=iptables --cluster-cidr="$POD_CIDR" \
  --conntrack-max-per-core=0 --conntrack-tcp-timeout-established=0 --conntrack-tcp-timeout-close-wait=0 \
  --healthz-bind-address="127.0.0.1:$proxy_healthz" --metrics-bind-address="127.0.0.1:$proxy_metrics" --v=1
node_ready() {
  [[ $(kubectl get node "$NODE" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}') == True ]]
}
wait_for "node $NODE" 180 kubelet node_ready
say "node $NODE Ready ($(kubectl get node "$NODE" -o 'jsonpath={.status.nodeInfo.kubeletVersion}, {.status.nodeInfo.containerRuntimeVersion}'))"

# ---- cluster DNS: CoreDNS, built from its Go module ------------------------------------------------------
coredns_image=$(tool corednsImage)
kubectl apply -f - >/dev/null <<YAML
apiVersion: v1
kind: ServiceAccount
metadata: { name: coredns, namespace: kube-system }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: "system:coredns" }
rules:
  - { apiGroups: [""], resources: [endpoints, services, pods, namespaces], verbs: [list, watch] }
  - { apiGroups: [discovery.k8s.io], resources: [endpointslices], verbs: [list, watch] }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: "system:coredns" }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:coredns" }
subjects: [{ kind: ServiceAccount, name: coredns, namespace: kube-system }]
---
apiVersion: v1
kind: ConfigMap
metadata: { name: coredns, namespace: kube-system }
data:
  Corefile: |
    .:53 {
        errors
        health :8080
        ready :8181
        kubernetes cluster.local in-addr.arpa ip6.arpa {
            pods insecure
            fallthrough in-addr.arpa ip6.arpa
            ttl 30
        }
        forward . /etc/resolv.conf
        cache 30
        loop
        loadbalance
    }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: coredns, namespace: kube-system, labels: { k8s-app: kube-dns } }
spec:
  replicas: 1
  selector: { matchLabels: { k8s-app: kube-dns } }
  template:
    metadata: { labels: { k8s-app: kube-dns } }
    spec:
      serviceAccountName: coredns
      priorityClassName: system-cluster-critical
      # Upstream is the node's resolver.
      dnsPolicy: Default
      securityContext:
        runAsNonRoot: true
        seccompProfile: { type: RuntimeDefault }
        # Port 53 as a non-root user without a capability.
        sysctls: [{ name: net.ipv4.ip_unprivileged_port_start, value: "0" }]
      containers:
        - name: coredns
          image: $coredns_image
          imagePullPolicy: Never
          args: [-conf, /etc/coredns/Corefile]
          ports:
            - { name: dns, containerPort: 53, protocol: UDP }
            - { name: dns-tcp, containerPort: 53, protocol: TCP }
          resources: { requests: { cpu: 50m, memory: 64Mi }, limits: { memory: 128Mi } }
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities: { drop: [ALL] }
          readinessProbe: { httpGet: { path: /ready, port: 8181 }, periodSeconds: 2 }
          livenessProbe: { httpGet: { path: /health, port: 8080 }, initialDelaySeconds: 10 }
          volumeMounts: [{ name: config, mountPath: /etc/coredns, readOnly: true }]
      volumes: [{ name: config, configMap: { name: coredns } }]
---
apiVersion: v1
kind: Service
metadata: { name: kube-dns, namespace: kube-system, labels: { k8s-app: kube-dns } }
spec:
  selector: { k8s-app: kube-dns }
  clusterIP: $CLUSTER_DNS
  ports:
    - { name: dns, port: 53, protocol: UDP }
    - { name: dns-tcp, port: 53, protocol: TCP }
YAML

# ---- Dapr's control plane: its own chart, the images built here -------------------------------------------
# No actors, jobs or workflows in ReserveX: no placement, no scheduler. mTLS on (the chart's default),
# sentry making its own root on first start; the injector adds the sidecars.
dapr_version=$(tool daprVersion)
dapr_chart=$(cd "$here/../../local/provision/dapr-control-plane" && go list -m -f '{{.Dir}}' github.com/dapr/dapr)/charts/dapr
"$(tool helm)" install dapr "$dapr_chart" --kubeconfig "$KUBECONFIG" --namespace dapr-system --create-namespace \
  --set global.registry=reservex.local --set "global.tag=$dapr_version" --set global.imagePullPolicy=Never \
  --set global.scheduler.enabled=false --set global.actors.enabled=false --set global.ha.enabled=false \
  --set global.mtls.enabled=true --set dapr_sidecar_injector.sidecarImagePullPolicy=Never \
  --set "dapr_operator.image.name=$(tool daprImage)" --set "dapr_sentry.image.name=$(tool daprImage)" \
  --set "dapr_sidecar_injector.injectorImage.name=$(tool daprImage)" \
  --set "dapr_sidecar_injector.image.name=reservex.local/daprd:$dapr_version" \
  --wait --timeout 4m >"$run/logs/helm-dapr.log" 2>&1 ||
  fail "helm install of Dapr's chart: $(tail -n 3 "$run/logs/helm-dapr.log"); $(kubectl get pods -n dapr-system --no-headers 2>&1 | tr -s ' ' | tr '\n' ';')"
[[ $(kubectl get configuration daprsystem -n dapr-system -o 'jsonpath={.spec.mtls.enabled}') == true ]] ||
  fail "Dapr's daprsystem Configuration does not have mTLS on"
# Sentry made the root of the sidecars' mTLS and published it (the control plane's own services got
# their certificates from it to become ready).
kubectl get secret dapr-trust-bundle -n dapr-system -o 'jsonpath={.data.ca\.crt}' | base64 -d |
  openssl x509 -noout >/dev/null 2>&1 || fail "sentry published no trust anchors (secret dapr-trust-bundle)"
say "Dapr $dapr_version control plane Running from its chart: $(kubectl get pods -n dapr-system -o 'jsonpath={range .items[*]}{.metadata.labels.app}={.status.phase} {end}')(mTLS on)"

# ---- checks ---------------------------------------------------------------------------------------------
wait_for "the default ServiceAccount" 60 kube-controller-manager kubectl get serviceaccount default -n default
kubectl create namespace "$CHECK_NAMESPACE" >/dev/null
wait_for "the check namespace's ServiceAccount" 60 kube-controller-manager \
  kubectl get serviceaccount default -n "$CHECK_NAMESPACE"
# A pod from the locally made base image, with the project's pause as its sandbox; it reaches the API
# server through the `kubernetes` Service's cluster address, i.e. through kube-proxy's rules and the
# bridge.
kubectl apply -n "$CHECK_NAMESPACE" -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata: { name: base }
spec:
  automountServiceAccountToken: false
  terminationGracePeriodSeconds: 1
  containers:
    - name: base
      image: $base_image
      imagePullPolicy: Never
      command:
        - bash
        - -c
        - |
          until exec 3<>/dev/tcp/$API_SERVICE_IP/443; do sleep 1; done
          echo "reached the kubernetes Service at $API_SERVICE_IP:443"
          until address=\$(getent hosts kubernetes.default); do sleep 1; done
          echo "resolved kubernetes.default: \$address"
          exec sleep infinity
YAML
pod_running() {
  [[ $(kubectl get pod base -n "$CHECK_NAMESPACE" -o 'jsonpath={.status.phase}') == Running ]]
}
wait_for "pod $CHECK_NAMESPACE/base Running" 120 kubelet pod_running
say "pod $CHECK_NAMESPACE/base Running ($base_image, IP $(kubectl get pod base -n "$CHECK_NAMESPACE" -o 'jsonpath={.status.podIP}'))"
service_reached() { kubectl logs base -n "$CHECK_NAMESPACE" | grep -q 'reached the kubernetes Service'; }
wait_for "the kubernetes Service from the pod (kube-proxy)" 60 kube-proxy service_reached
say "the pod reached the kubernetes Service at $API_SERVICE_IP:443 through kube-proxy"
dns_resolved() { kubectl logs base -n "$CHECK_NAMESPACE" | grep -q "resolved kubernetes.default: $API_SERVICE_IP "; }
wait_for "cluster DNS (CoreDNS) from the pod" 120 kubelet dns_resolved
say "cluster DNS: the pod resolved $(kubectl logs base -n "$CHECK_NAMESPACE" | sed -n 's/^resolved //p' | tr -s ' ') through CoreDNS $(tool corednsImage | sed 's/.*://')"

# Dapr's injector adds the sidecar to a pod that asks for one, with mTLS on, and the sidecar (daprd
# built for the cluster) runs: it gets its identity from sentry and loads its configuration from the
# operator.
kubectl create -n "$CHECK_NAMESPACE" -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata:
  name: injected
  annotations:
    dapr.io/enabled: "true"
    dapr.io/app-id: cluster-check
    dapr.io/disable-builtin-k8s-secret-store: "true"
spec:
  automountServiceAccountToken: false
  terminationGracePeriodSeconds: 1
  containers:
    - { name: app, image: $base_image, imagePullPolicy: Never, command: [sleep, infinity] }
YAML
injected=$(kubectl get pod injected -n "$CHECK_NAMESPACE" -o 'jsonpath={.spec.containers[*].name}')
[[ $injected == *daprd* ]] || fail "Dapr's injector did not add daprd to a pod that asks for it (containers: $injected)"
kubectl get pod injected -n "$CHECK_NAMESPACE" -o 'jsonpath={.spec.containers[?(@.name=="daprd")].args}' |
  grep -q -- '--enable-mtls' || fail "the injected daprd does not have --enable-mtls"
injected_ready() {
  [[ $(kubectl get pod injected -n "$CHECK_NAMESPACE" -o 'jsonpath={.status.containerStatuses[?(@.name=="daprd")].ready}') == true ]]
}
wait_for "the injected daprd ready" 120 kubelet injected_ready ||
  fail "the injected daprd is not ready: $(kubectl logs injected -c daprd -n "$CHECK_NAMESPACE" | tail -n 5)"
# (Logs read whole first: grep -q ending the pipe early would fail it under pipefail.)
[[ $(kubectl logs injected -c daprd -n "$CHECK_NAMESPACE") == *'Security is initialized successfully'* ]] ||
  fail "the injected daprd did not start with mTLS: $(kubectl logs injected -c daprd -n "$CHECK_NAMESPACE" | tail -n 5)"
say "Dapr's injector added daprd to a pod that asks for it (containers: $injected); daprd $(tool daprdImage | sed 's/.*://') ready, mTLS on (sentry's identity)"
kubectl delete pod injected -n "$CHECK_NAMESPACE" --wait=false >/dev/null

# Each service's image runs its own CMD under the kubelet, as the image's user: node, the pruned
# sources and the production dependencies load, and the service refuses to start without its
# configuration (the chart gives it that; this stage does not install the chart yet).
for service in $apps; do
  kubectl apply -n "$CHECK_NAMESPACE" -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata: { name: image-$service }
spec:
  automountServiceAccountToken: false
  restartPolicy: Never
  securityContext: { runAsNonRoot: true }
  containers:
    - name: $service
      image: reservex.local/$service:cluster
      imagePullPolicy: Never
      resources: { requests: { cpu: 10m, memory: 64Mi } }
YAML
done
image_pods_done() {
  local phases
  phases=$(kubectl get pods -n "$CHECK_NAMESPACE" -o 'jsonpath={range .items[*]}{.metadata.name}={.status.phase} {end}')
  for service in $apps; do
    [[ $phases == *"image-$service=Failed"* || $phases == *"image-$service=Succeeded"* ]] || return 1
  done
}
wait_for "the services' image pods" 240 kubelet image_pods_done
for service in $apps; do
  kubectl logs -n "$CHECK_NAMESPACE" "image-$service" | grep -q '^invalid configuration: SERVICE_NAME is missing' ||
    fail "image-$service: $(kubectl logs -n "$CHECK_NAMESPACE" "image-$service" | tail -n 3)"
done
say "each service's image ran its CMD on the node, non-root (runAsNonRoot), and refused to start without its configuration, as it should"

# ---- the release's neighbours: Kafka beside the node, volumes, CloudNativePG ------------------------------
# Strimzi cannot run here: a single KRaft broker from the local stack's jars, listening on the bridge's
# address (the pods reach it there), with automatic topic creation as in the local stack.
java=$(tool java)
kafka_libs=$(tool kafkaLibs)
mkdir -p "$run/kafka"
read -r kafka_controller <<<"$(free_ports 1)"
cat >"$run/kafka/server.properties" <<PROPERTIES
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$kafka_controller
listeners=PLAINTEXT://$NODE_IP:$KAFKA_PORT,CONTROLLER://127.0.0.1:$kafka_controller
advertised.listeners=PLAINTEXT://$NODE_IP:$KAFKA_PORT,CONTROLLER://127.0.0.1:$kafka_controller
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$run/kafka/data
auto.create.topics.enable=true
num.partitions=3
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
PROPERTIES
# No logging configuration: log4j's default prints errors only.
kafka_jvm=(-Xms256m -Xmx768m -XX:+UseG1GC -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true -cp "$kafka_libs/*")
# A KRaft cluster id (16 random bytes, base64url); StorageTool would read a leading '-' as an option.
kafka_id=$(python3 -c 'import base64, os
while (i := base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("=")).startswith("-"): pass
print(i)')
"$java" "${kafka_jvm[@]}" kafka.tools.StorageTool format --standalone -t "$kafka_id" -c "$run/kafka/server.properties" \
  >"$run/logs/kafka-format.log" 2>&1 || fail "Kafka's storage format: $(tail -n 3 "$run/logs/kafka-format.log")"
start kafka "$java" "${kafka_jvm[@]}" kafka.Kafka "$run/kafka/server.properties"
kafka_started() { timeout 2 bash -c "exec 3<>/dev/tcp/$NODE_IP/$KAFKA_PORT"; }
wait_for "Kafka beside the node" 120 kafka kafka_started
say "Kafka (KRaft, the local stack's jars) on $NODE_IP:$KAFKA_PORT beside the node"

# Volumes: PersistentVolumes of no class on folders of the run, which the claims of no class (Postgres,
# Redis) bind to. The folders are open to every user: each pod runs as a user of its own.
for volume in 1 2 3 4; do
  mkdir -p "$run/volumes/$volume"
  chmod 0777 "$run/volumes/$volume"
  kubectl apply -f - >/dev/null <<YAML
apiVersion: v1
kind: PersistentVolume
metadata: { name: reservex-cluster-$volume }
spec:
  capacity: { storage: 10Gi }
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: ""
  hostPath: { path: "$run/volumes/$volume", type: Directory }
YAML
done

# CloudNativePG's operator: its release manifest from the module, with the image built here.
cnpg_version=$(tool cnpgVersion)
cnpg_manifest=$(go env GOMODCACHE)/github.com/cloudnative-pg/cloudnative-pg@$cnpg_version/releases/cnpg-${cnpg_version#v}.yaml
[[ -f $cnpg_manifest ]] || fail "CloudNativePG's release manifest is missing: $cnpg_manifest"
sed -e "s|ghcr.io/cloudnative-pg/cloudnative-pg:${cnpg_version#v}|$(tool cnpgImage)|" \
  -e 's|imagePullPolicy: Always|imagePullPolicy: Never|' "$cnpg_manifest" |
  kubectl apply --server-side -f - >"$run/logs/cnpg-apply.log" 2>&1 ||
  fail "CloudNativePG's manifest: $(tail -n 3 "$run/logs/cnpg-apply.log")"
kubectl rollout status deployment/cnpg-controller-manager -n cnpg-system --timeout=180s >/dev/null 2>&1 ||
  fail "CloudNativePG's operator is not available: $(kubectl get pods -n cnpg-system --no-headers 2>&1 | tr -s ' ')"
say "CloudNativePG $cnpg_version operator Running ($(tool cnpgImage))"

# ---- the chart: helm install --wait, helm test ---------------------------------------------------------------
helm=$(tool helm)
node_image=$(tool nodeImage)
started_install=$SECONDS
"$helm" install reservex "$here/../../charts/reservex" --kubeconfig "$KUBECONFIG" --namespace "$RELEASE_NAMESPACE" \
  --create-namespace -f "$here/values.yaml" \
  --set "kafka.external.brokers=$NODE_IP:$KAFKA_PORT" \
  --set "postgres.cloudnativePg.imageName=$(tool postgresImage)" --set "redis.image=$(tool redisImage)" \
  --set "jaeger.image=$(tool jaegerImage)" --set "seed.image=$node_image" --set "tests.image=$node_image" \
  --wait --timeout 15m >"$run/logs/helm-reservex.log" 2>&1 ||
  fail "helm install of charts/reservex: $(tail -n 3 "$run/logs/helm-reservex.log"); $(kubectl get pods -n "$RELEASE_NAMESPACE" --no-headers 2>&1 | tr -s ' ' | tr '\n' ';')"
say "helm install --wait of charts/reservex done in $((SECONDS - started_install))s"
pods=$(kubectl get pods -n "$RELEASE_NAMESPACE" -l app.kubernetes.io/component=service \
  -o 'jsonpath={range .items[*]}{.metadata.labels.app\.kubernetes\.io/name} {.status.phase} {.spec.containers[*].name}{"\n"}{end}')
echo "$pods" | sed 's/^/test:cluster:   /' >&2
for service in $apps; do
  echo "$pods" | grep -qE "^$service Running .*\bdaprd\b" ||
    fail "the $service pod is not Running with an injected daprd: $(echo "$pods" | grep "^$service " || echo none)"
done
say "the eight app pods are Running, two containers each (the service and the injected daprd)"
# Each app's sidecar runs with mTLS: the injector gave it --enable-mtls and it took its identity from sentry.
for pod in $(kubectl get pods -n "$RELEASE_NAMESPACE" -l app.kubernetes.io/component=service -o name); do
  kubectl get -n "$RELEASE_NAMESPACE" "$pod" -o 'jsonpath={.spec.containers[?(@.name=="daprd")].args}' |
    grep -q -- '--enable-mtls' || fail "$pod: daprd without --enable-mtls"
  [[ $(kubectl logs -n "$RELEASE_NAMESPACE" "$pod" -c daprd) == *'Security is initialized successfully'* ]] ||
    fail "$pod: daprd did not take its mTLS identity from sentry"
done
say "each app's daprd runs with mTLS (--enable-mtls, its identity from sentry)"

"$helm" test reservex --kubeconfig "$KUBECONFIG" --namespace "$RELEASE_NAMESPACE" --logs --timeout 5m \
  >"$run/logs/helm-test.log" 2>&1 || fail "helm test: $(tail -n 12 "$run/logs/helm-test.log")"
booked=$(grep -m 1 -o 'booked: reservation [^ ]* CONFIRMED' "$run/logs/helm-test.log") ||
  fail "helm test passed without a booking: $(tail -n 12 "$run/logs/helm-test.log")"
say "helm test: $booked"

# ---- the booking's trace, from the in-cluster Jaeger ------------------------------------------------------
reservation=$(echo "$booked" | awk '{ print $3 }')
jaeger=http://$(kubectl get service -n "$RELEASE_NAMESPACE" -l app.kubernetes.io/name=jaeger -o 'jsonpath={.items[0].spec.clusterIP}'):16686
trace_services() {
  curl -sf -G "$jaeger/api/traces" --data-urlencode service=reservation --data-urlencode lookback=1h \
    --data-urlencode limit=20 --data-urlencode "tags={\"reservation.id\":\"$reservation\"}" |
    python3 -c 'import json, sys
traces = json.load(sys.stdin)["data"]
print(" ".join(sorted({p["serviceName"] for t in traces for p in t["processes"].values()})))'
}
trace_complete() {
  local found
  found=$(trace_services) || return 1
  for service in gateway reservation inventory payment ticket; do [[ " $found " == *" $service "* ]] || return 1; done
}
wait_for "the booking's trace in Jaeger with spans of gateway, reservation, inventory, payment and ticket" 120 '' trace_complete
say "the booking's trace (Jaeger in the cluster) has spans of: $(trace_services)"

say "PASSED: node Ready; a pod from a locally made image in the project's pause sandbox; service routing by kube-proxy; cluster DNS by CoreDNS; Dapr's control plane from its chart with mTLS, the injector adding daprd, which runs; the services' images (services/Dockerfile, podman) run by the kubelet; CloudNativePG, Postgres, Redis, Jaeger and Kafka beside; helm install --wait of charts/reservex, eight app pods with daprd and mTLS, helm test booked a ticket CONFIRMED, its trace in Jaeger spans gateway, reservation, inventory, payment and ticket"
