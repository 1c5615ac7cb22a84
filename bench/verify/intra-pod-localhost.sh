#!/usr/bin/env bash
# Verify script for the task intra-pod-localhost, the way Killercoda / Instruqt check a task:
# bash + kubectl, exit code 0 = solved. The same criteria as the task's checks.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# One read of the pod: phase, readiness, the declared ports.
out=$(kubectl get pod multi-container -n multi -o jsonpath='{.status.phase}{"\n"}{.spec.containers[*].name}{"\n"}{.status.containerStatuses[*].ready}{"\n"}{range .spec.containers[*]}{range .ports[*]}{.containerPort}/{.protocol} {end}{end}{"\n"}') ||
  fail "pod multi/multi-container does not exist"
{
  read -r phase
  read -ra names
  read -ra readies
  read -ra ports
} <<<"$out"

[[ $phase == Running ]] || fail "multi-container is $phase, not Running"
ready=0
for r in "${readies[@]}"; do
  if [[ $r == true ]]; then ready=$((ready + 1)); fi
done
((${#names[@]} > 0 && ready == ${#names[@]})) || fail "multi-container has $ready/${#names[@]} containers ready"

declare -A seen=()
for p in "${ports[@]}"; do
  [[ $p == */ ]] && p=${p}TCP
  [[ -z ${seen[$p]:-} ]] || fail "port $p is declared twice"
  seen[$p]=1
done

redis_ok multi multi-container app 6379
http_ok multi multi-container sidecar 127.0.0.1 80
echo "OK: intra-pod-localhost"
