#!/usr/bin/env bash
# Verify script for the task fix-port-conflict, the way Killercoda / Instruqt check a task:
# bash + kubectl, exit code 0 = solved. The same criteria as the task's checks.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# One read of the pod: phase, readiness, the sidecar's state, the declared ports.
out=$(kubectl get pod multi-container -n multi -o jsonpath='{.status.phase}{"\n"}{.spec.containers[*].name}{"\n"}{.status.containerStatuses[*].ready}{"\n"}{.status.containerStatuses[?(@.name=="sidecar")].state.running.startedAt}{"\n"}{range .spec.containers[*]}{range .ports[*]}{.containerPort}/{.protocol} {end}{end}{"\n"}') ||
  fail "pod multi/multi-container does not exist"
{
  read -r phase
  read -ra names
  read -ra readies
  read -r started
  read -ra ports
} <<<"$out"

[[ $phase == Running ]] || fail "multi-container is $phase, not Running"
ready=0
for r in "${readies[@]}"; do
  if [[ $r == true ]]; then ready=$((ready + 1)); fi
done
((${#names[@]} > 0 && ready == ${#names[@]})) || fail "multi-container has $ready/${#names[@]} containers ready"

[[ -n $started ]] || fail "the sidecar container is not running"
up=$(($(printf '%(%s)T' -1) - $(date -d "$started" +%s)))
((up >= 30)) || fail "the sidecar has been running for only $up s (needs 30 s without a restart)"

declare -A seen=()
for p in "${ports[@]}"; do
  [[ $p == */ ]] && p=${p}TCP
  [[ -z ${seen[$p]:-} ]] || fail "port $p is declared twice"
  seen[$p]=1
done
echo "OK: fix-port-conflict"
