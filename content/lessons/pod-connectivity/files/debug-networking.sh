#!/usr/bin/env bash
# debug-networking.sh
# Collect, in one pass, what you need to diagnose pod-to-pod connectivity:
# nodes, pods and their events, the CNI (Flannel) pods and logs, a live
# connectivity test, and (on kind) what each node really has on disk.
#
# Usage:  ./debug-networking.sh [namespace] [kind-cluster-name]
#         defaults: namespace "test", cluster "kubelab"
#
# It only reads state, except for one short-lived busybox pod used for ping,
# which is deleted again. Every step runs even if an earlier one fails.
set -uo pipefail

NS="${1:-test}"
CLUSTER="${2:-kubelab}"
PROBE_IMAGE="busybox:1.36"   # has ping; nginx:1.25 and redis:7 do not

section() { printf '\n===== %s =====\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@" || printf '(exit code %s)\n' "$?"; }

section "Nodes: all must be Ready"
run kubectl get nodes -o wide
run kubectl get nodes -o custom-columns='NAME:.metadata.name,PODCIDR:.spec.podCIDR,TAINTS:.spec.taints[*].key'

section "Pods in namespace $NS (IP column = pod IP)"
run kubectl get pods -n "$NS" -o wide

section "Pods of $NS that are not Running, with their recent events"
for pod in $(kubectl get pods -n "$NS" --field-selector=status.phase!=Running -o jsonpath='{.items[*].metadata.name}' 2>/dev/null); do
  echo "--- $pod"
  kubectl get events -n "$NS" --field-selector "involvedObject.name=$pod" \
    --sort-by=.lastTimestamp -o custom-columns='TYPE:.type,REASON:.reason,MESSAGE:.message' 2>/dev/null | tail -n 5
done

section "CNI: Flannel DaemonSets in any namespace (current manifests use kube-flannel)"
run kubectl get daemonsets -A -l app=flannel
run kubectl get pods -A -l app=flannel -o wide

section "Flannel logs (last lines of each pod)"
FLANNEL_NS="$(kubectl get daemonsets -A -l app=flannel -o jsonpath='{.items[0].metadata.namespace}' 2>/dev/null)"
if [[ -n "$FLANNEL_NS" ]]; then
  run kubectl logs -n "$FLANNEL_NS" -l app=flannel -c kube-flannel --tail=15 --prefix
else
  echo "No Flannel DaemonSet found: no CNI is running (new pods will not get a network)."
fi

section "Connectivity: pod1 -> pod2 (or the first two Running pods of $NS)"
read -r -a RUNNING <<<"$(kubectl get pods -n "$NS" --field-selector=status.phase=Running -o jsonpath='{.items[*].metadata.name}' 2>/dev/null)"
SRC=""; DST=""
for p in ${RUNNING[@]+"${RUNNING[@]}"}; do
  if [[ "$p" == pod1 ]]; then SRC=pod1; fi
  if [[ "$p" == pod2 ]]; then DST=pod2; fi
done
if [[ -z "$SRC" || -z "$DST" ]] && [[ ${#RUNNING[@]} -ge 2 ]]; then
  SRC="${RUNNING[0]}"; DST="${RUNNING[1]}"
fi
if [[ -n "$SRC" && -n "$DST" ]]; then
  DST_IP="$(kubectl get pod -n "$NS" "$DST" -o jsonpath='{.status.podIP}')"
  echo "from $SRC to $DST ($DST_IP)"
  # HTTP test from inside the source pod: works when its image has curl (nginx does).
  run kubectl exec -n "$NS" "$SRC" -- curl -sS -m 5 -o /dev/null -w 'HTTP %{http_code}\n' "http://$DST_IP:80/"
  # ICMP test from a throwaway busybox pod, because the app images have no ping.
  run kubectl run "netprobe-$$" -n "$NS" --image="$PROBE_IMAGE" --restart=Never --rm -i \
    --command -- ping -c 2 -W 2 "$DST_IP"
else
  echo "Fewer than two Running pods in $NS: nothing to test yet."
fi

section "kind nodes: CNI binaries, CNI config, Flannel lease, routes, containers, kubelet"
if command -v kind >/dev/null 2>&1 && command -v docker >/dev/null 2>&1; then
  for node in $(kind get nodes --name "$CLUSTER" 2>/dev/null); do
    echo "--- node $node"
    run docker exec "$node" ls /opt/cni/bin           # needs bridge, flannel, host-local, loopback, portmap
    run docker exec "$node" ls /etc/cni/net.d          # 10-flannel.conflist once Flannel ran
    run docker exec "$node" cat /run/flannel/subnet.env
    run docker exec "$node" ip route                   # local /24 on cni0, others via flannel.1
    run docker exec "$node" crictl ps
    docker exec "$node" journalctl -u kubelet --no-pager -n 200 2>/dev/null \
      | grep -iE 'cni|network' | tail -n 5
  done
else
  echo "kind/docker not found: on a kubeadm node run the same commands directly"
  echo "(ls /opt/cni/bin /etc/cni/net.d; cat /run/flannel/subnet.env; ip route; crictl ps; journalctl -u kubelet)."
fi
