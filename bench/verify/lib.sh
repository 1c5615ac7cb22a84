# Helpers shared by the verify scripts in this folder: what a Killercoda / Instruqt task repo
# keeps next to its `verify.sh` files. Plain bash + kubectl (jsonpath), exit code decides.
# Sourced, not run. kubectl uses $KUBECONFIG and its current context.

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# kubelab's probes (src/checks/probe.rs), character for character, so that the fake API
# server's scripted exec results answer both; the probe timeout is 5 s.
probe_http() { # HOST PORT: prints the `sh -c` script of an HTTP GET printing the status line
  local h=$1 p=$2 t=5
  printf '%s' "if command -v curl >/dev/null 2>&1; then curl -sS -o /dev/null --max-time $t -w 'HTTP/%{http_version} %{http_code}\\n' http://$h:$p/; elif command -v wget >/dev/null 2>&1; then wget -S -q -O /dev/null -T $t http://$h:$p/ 2>&1 | grep -m1 HTTP/; elif command -v bash >/dev/null 2>&1; then timeout $t bash -c 'exec 3<>/dev/tcp/$h/$p; printf \"GET / HTTP/1.0\\r\\nHost: $h\\r\\n\\r\\n\" >&3; head -n1 <&3'; else echo 'no curl, wget or bash in this container' >&2; exit 127; fi"
}

probe_redis() { # PORT: prints the `sh -c` script of a Redis PING to 127.0.0.1:PORT
  local p=$1 t=5
  printf '%s' "if command -v redis-cli >/dev/null 2>&1; then timeout $t redis-cli -h 127.0.0.1 -p $p ping; elif command -v bash >/dev/null 2>&1; then timeout $t bash -c 'exec 3<>/dev/tcp/127.0.0.1/$p; printf \"PING\\r\\n\" >&3; head -c7 <&3'; else echo 'no redis-cli or bash in this container' >&2; exit 127; fi"
}

# pod_ready NAMESPACE POD [IMAGE]: the pod is Running, every container Ready (and every
# container runs IMAGE). Sets POD_IP.
pod_ready() {
  local ns=$1 pod=$2 image=${3:-} out phase ip images readies n_images n_ready r i
  out=$(kubectl get pod "$pod" -n "$ns" -o jsonpath='{.status.phase}{"|"}{.status.podIP}{"|"}{.spec.containers[*].image}{"|"}{.status.containerStatuses[*].ready}') ||
    fail "pod $ns/$pod does not exist"
  IFS='|' read -r phase ip images readies <<<"$out"
  [[ $phase == Running ]] || fail "pod $ns/$pod is $phase, not Running"
  read -ra images <<<"$images"
  read -ra readies <<<"$readies"
  n_images=${#images[@]} n_ready=0
  for r in "${readies[@]}"; do
    if [[ $r == true ]]; then n_ready=$((n_ready + 1)); fi
  done
  ((n_images > 0 && n_ready == n_images)) || fail "pod $ns/$pod has $n_ready/$n_images containers ready"
  if [[ -n $image ]]; then
    for i in "${images[@]}"; do [[ $i == "$image" ]] || fail "pod $ns/$pod runs $i, not $image"; done
  fi
  POD_IP=$ip
}

# ip_in_cidr IP CIDR (IPv4): pure bash, no subshells.
ip_in_cidr() {
  local ip=$1 net=${2%/*} bits=${2#*/} a b c d x y mask
  [[ $ip =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ ]] || return 1
  IFS=. read -r a b c d <<<"$ip"
  x=$(((a << 24) | (b << 16) | (c << 8) | d))
  IFS=. read -r a b c d <<<"$net"
  y=$(((a << 24) | (b << 16) | (c << 8) | d))
  mask=$(((0xffffffff << (32 - bits)) & 0xffffffff))
  (((x & mask) == (y & mask)))
}

# http_ok NAMESPACE POD CONTAINER HOST PORT: the HTTP probe, run in POD (CONTAINER may be
# empty for kubectl's default), exits 0 and prints a status line that is not 000.
http_ok() {
  local ns=$1 pod=$2 container=$3 host=$4 port=$5 out
  local args=(exec -n "$ns" "$pod")
  if [[ -n $container ]]; then args+=(-c "$container"); fi
  out=$(kubectl "${args[@]}" -- sh -c "$(probe_http "$host" "$port")") ||
    fail "HTTP request from $ns/$pod${container:+ ($container)} to $host:$port failed: $out"
  grep -Eq '^HTTP/[0-9.]+ [1-5][0-9][0-9]' <<<"$out" ||
    fail "no HTTP answer from $host:$port in $ns/$pod: $out"
}

# redis_ok NAMESPACE POD CONTAINER PORT: a Redis PING on 127.0.0.1:PORT is answered.
redis_ok() {
  local ns=$1 pod=$2 container=$3 port=$4 out
  out=$(kubectl exec -n "$ns" "$pod" -c "$container" -- sh -c "$(probe_redis "$port")") ||
    fail "Redis PING from $ns/$pod ($container) to 127.0.0.1:$port failed: $out"
  [[ $out == *PONG* ]] || fail "no PONG from 127.0.0.1:$port in $ns/$pod ($container): $out"
}

# flannel_ready: a DaemonSet labelled app=flannel has desired > 0 == ready == available.
flannel_ready() {
  local out ns_name desired ready available
  out=$(kubectl get daemonsets -A -l app=flannel -o jsonpath='{range .items[*]}{.metadata.namespace}/{.metadata.name} {.status.desiredNumberScheduled} {.status.numberReady} {.status.numberAvailable}{"\n"}{end}')
  [[ -n $out ]] || fail "no DaemonSet labelled app=flannel in any namespace"
  while read -r ns_name desired ready available; do
    ((desired > 0 && desired == ready && ready == ${available:-0})) && return 0
  done <<<"$out"
  fail "flannel is not ready: $out"
}

# nodes_ready: at least one node, every node's Ready condition is True.
nodes_ready() {
  local out name status n=0
  out=$(kubectl get nodes -o jsonpath='{range .items[*]}{.metadata.name} {.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}')
  while read -r name status; do
    [[ -z $name ]] && continue
    [[ $status == True ]] || fail "node $name is not Ready ($status)"
    n=$((n + 1))
  done <<<"$out"
  ((n > 0)) || fail "the cluster reports no nodes"
}
