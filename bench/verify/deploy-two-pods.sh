#!/usr/bin/env bash
# Verify script for the task deploy-two-pods, the way Killercoda / Instruqt check a task:
# bash + kubectl, exit code 0 = solved. The same criteria as the task's checks.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[[ $(kubectl get namespace test -o jsonpath='{.status.phase}' 2>/dev/null) == Active ]] ||
  fail "namespace test does not exist or is not Active"
pod_ready test pod1 nginx:1.25
ip1=$POD_IP
pod_ready test pod2 nginx:1.25
ip2=$POD_IP
[[ -n $ip1 && -n $ip2 && $ip1 != "$ip2" ]] || fail "pod1 ($ip1) and pod2 ($ip2) need two different IPs"
ip_in_cidr "$ip1" 10.244.0.0/16 || fail "pod1's IP $ip1 is outside 10.244.0.0/16"
ip_in_cidr "$ip2" 10.244.0.0/16 || fail "pod2's IP $ip2 is outside 10.244.0.0/16"
http_ok test pod1 "" "$ip2" 80
echo "OK: deploy-two-pods"
