#!/usr/bin/env bash
# Verify script for the task fix-missing-cni, the way Killercoda / Instruqt check a task:
# bash + kubectl, exit code 0 = solved. The same criteria as the task's checks.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

flannel_ready
nodes_ready
pod_ready test pod1
pod_ready test pod2
ip2=$POD_IP
[[ -n $ip2 ]] || fail "pod2 has no IP"
http_ok test pod1 "" "$ip2" 80
echo "OK: fix-missing-cni"
