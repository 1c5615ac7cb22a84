#!/usr/bin/env bash
# Benchmark: how long one check of each task takes in kubelab (kube-rs, one cached client,
# as `kubelab serve` runs it) and as a bash + kubectl verify script in the Killercoda /
# Instruqt style (bench/verify/<task>.sh, exit code decides), against the same fake API
# server; then what `kubelab serve` costs while PAGES task pages hold live checks open and
# nothing changes.
#
# Usage: bench/checks.sh
#   RUNS=200         kubelab checks timed per task (and as many "cold", with a new client each)
#   SCRIPT_RUNS=20   verify script runs timed per task
#   PAGES=100        open task pages (SSE streams) in the idle test
#   IDLE=60          seconds measured in the idle test
# Needs kubectl (tested with v1.32) and cargo. Everything listens on 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v kubectl >/dev/null || { echo "needs kubectl on PATH" >&2; exit 1; }
RUNS=${RUNS:-200}
SCRIPT_RUNS=${SCRIPT_RUNS:-20}
PAGES=${PAGES:-100}
IDLE=${IDLE:-60}
tasks=(deploy-two-pods install-flannel intra-pod-localhost fix-missing-cni fix-port-conflict)

cargo build --release --locked --quiet -p kubelab --bin kubelab --example check_latency --example live_idle
cargo build --release --locked --quiet -p fake-apiserver

work=$(mktemp -d)
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
export KUBECACHEDIR=$work/kube-cache # kubectl's discovery cache: warm after the first call

now_us() { local t=$EPOCHREALTIME; echo "${t/[.,]/}"; }

# start_fake NAME: the fake-apiserver binary on the solved fixture; writes $work/NAME.kubeconfig.
start_fake() {
  local name=$1 i
  target/release/fake-apiserver \
    --fixture "$work/solved.yaml" --kubeconfig-out "$work/$name.kubeconfig" --context kind-kubelab \
    >"$work/$name.out" 2>"$work/$name.err" &
  pids+=("$!")
  for ((i = 0; i < 500; i++)); do
    grep -qs '^listening on' "$work/$name.out" && return 0
    sleep 0.01
  done
  echo "fake-apiserver did not start: $(cat "$work/$name.err")" >&2
  exit 1
}

# stats FILE: median and p99 (nearest rank) of the numbers in FILE, in microseconds.
stats() {
  sort -n "$1" | awk '{ a[NR] = $1 }
    function rank(p,  r) { r = int((p * NR + 99) / 100); if (r < 1) r = 1; return a[r] }
    END { print rank(50), rank(99) }'
}

# time_script TASK KUBECONFIG: sets S_MED and S_P99 (microseconds) and S_FAILS (failed runs).
time_script() {
  local task=$1 kubeconfig=$2 script=bench/verify/$1.sh samples=$work/$1.samples i s
  # The script must pass before it is timed (kubectl exec against the fake now and then loses
  # a WebSocket race, "Unknown stream id"; so up to three tries).
  for i in 1 2 3 4; do
    if ((i == 4)); then
      echo "bench/verify/$task.sh does not pass against the solved fixture:" >&2
      cat "$work/err" >&2
      exit 1
    fi
    KUBECONFIG=$kubeconfig bash "$script" >/dev/null 2>"$work/err" && break
  done
  S_FAILS=0
  : >"$samples"
  for ((i = 0; i < SCRIPT_RUNS; i++)); do
    s=$(now_us)
    if ! KUBECONFIG=$kubeconfig bash "$script" >/dev/null 2>>"$work/script-errors"; then
      S_FAILS=$((S_FAILS + 1))
    fi
    echo $(($(now_us) - s)) >>"$samples"
  done
  read -r S_MED S_P99 < <(stats "$samples")
}

ms() { awk -v us="$1" 'BEGIN { printf "%.2f ms", us / 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b <= 0) print "-"; else if (a / b < 10) printf "%.1fx", a / b; else printf "%.0fx", a / b }'; }

# pass LABEL KUBECONFIG: kubelab and the scripts against one fake, and the table.
pass() {
  local label=$1 kubeconfig=$2 task k_med k_p99 c_med c_p99 full
  echo
  echo "== $label"
  target/release/examples/check_latency --kubeconfig "$kubeconfig" --context kind-kubelab \
    --runs "$RUNS" --tsv "$work/kubelab.tsv" | sed 's/^/   /'
  : >"$work/script-errors"
  echo
  printf '%-20s | %10s %10s %10s | %10s %10s %6s | %9s %9s\n' task "kubelab" "p99" "cold" \
    "script" "p99" "failed" "speed-up" "vs cold"
  for task in "${tasks[@]}"; do
    read -r k_med k_p99 c_med c_p99 full < <(awk -v t="$task" '$1 == t { print $2, $3, $4, $5, $6 }' "$work/kubelab.tsv")
    time_script "$task" "$kubeconfig"
    printf '%-20s | %10s %10s %10s | %10s %10s %6s | %9s %9s\n' "$task" "$(ms "$k_med")" \
      "$(ms "$k_p99")" "$(ms "$c_med")" "$(ms "$S_MED")" "$(ms "$S_P99")" "$S_FAILS/$SCRIPT_RUNS" \
      "$(ratio "$S_MED" "$k_med")" "$(ratio "$S_MED" "$c_med")"
    [[ $full == yes ]] || echo "   warning: some kubelab checks of $task were not full marks"
  done
  echo "   (kubelab: median and p99 of $RUNS checks on one cached client; cold: median with a new"
  echo "    client per check. script: median and p99 of $SCRIPT_RUNS runs of bench/verify/<task>.sh."
  echo "    speed-up = script median / kubelab median.)"
  if [[ -s $work/script-errors ]]; then
    echo "   stderr of the timed script runs (failed or not), most frequent first:"
    sed -E 's/^E[0-9]{4} [0-9:.]+ +[0-9]+ /E... /' "$work/script-errors" | sort | uniq -c | sort -rn | head -3 | sed 's/^ */     /'
  fi
}

echo "machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)," \
  "$(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr);" \
  "load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); $(rustc --version); kubectl $(kubectl version --client -o json 2>/dev/null | sed -n 's/.*"gitVersion": "\([^"]*\)".*/\1/p' | head -1)"

target/release/examples/check_latency --write-fixtures "$work" >/dev/null
start_fake fake
: >"$work/baseline"
for ((i = 0; i < 10; i++)); do
  s=$(now_us)
  KUBECONFIG=$work/fake.kubeconfig kubectl get --raw /version >/dev/null
  echo $(($(now_us) - s)) >>"$work/baseline"
done
read -r base_med _ < <(stats "$work/baseline")
echo "one kubectl process that only asks the fake for /version: $(ms "$base_med") (median of 10)"

pass "against the fake-apiserver binary" "$work/fake.kubeconfig"

echo
echo "== idle: $PAGES open live task pages, nothing changing for $IDLE s"
target/release/examples/live_idle --kubelab target/release/kubelab --fixture "$work/solved.yaml" \
  --pages "$PAGES" --idle "$IDLE" | sed 's/^/   /'
echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
