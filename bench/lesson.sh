#!/usr/bin/env bash
# Benchmark: the rendered lesson page against the same bytes served as a static file by the
# same server, with wrk (Debian package `wrk`), 32 connections for 10 s on loopback.
# Also reports start-up time (process start to a 200 from /healthz) and idle memory (RSS).
# Usage: bench/lesson.sh            (builds the release binary first)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "needs wrk: apt-get install wrk" >&2; exit 1; }
cargo build --release --locked --quiet
bin=target/release/kubelab
work=$(mktemp -d)
trap 'kill "${pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
port=${PORT:-18080}
base="http://127.0.0.1:$port"
cp -r content "$work/content"

start() {
  local t0 t1
  t0=$(date +%s%N)
  "$bin" serve --addr "127.0.0.1:$port" --db "$work/kubelab.db" --content "$work/content" 2>"$work/serve.log" &
  pid=$!
  until curl -fs "$base/healthz" >/dev/null 2>&1; do sleep 0.005; done
  t1=$(date +%s%N)
  startup_ms=$(( (t1 - t0) / 1000000 ))
}
stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; }

# A returning learner with some progress, so the page does its real per-learner queries.
start
cookie=$(curl -s -D - -o /dev/null "$base/" | sed -n 's/^[Ss]et-[Cc]ookie: \(kubelab_learner=[0-9a-f]*\).*/\1/p')
curl -fs -X POST -H "Cookie: $cookie" "$base/api/v1/lessons/pod-connectivity/sections/theory/complete" >/dev/null
curl -fs -H "Cookie: $cookie" "$base/lessons/pod-connectivity" >"$work/content/lessons/pod-connectivity/files/lesson-page.html"
stop

# Restart with the page's bytes present as a static file, and measure start-up.
start
sleep 1
idle_kb=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
bytes=$(wc -c <"$work/content/lessons/pod-connectivity/files/lesson-page.html")

run() {
  wrk -t2 -c32 -d10s --latency -H "Cookie: $cookie" "$1" >"$work/wrk.txt"
  rps=$(awk '/Requests\/sec/ {print $2}' "$work/wrk.txt")
  p50=$(awk '$1 == "50%" {print $2}' "$work/wrk.txt")
  p99=$(awk '$1 == "99%" {print $2}' "$work/wrk.txt")
  echo "$rps $p50 $p99"
}
read -r page_rps page_p50 page_p99 < <(run "$base/lessons/pod-connectivity")
read -r static_rps static_p50 static_p99 < <(run "$base/lessons/pod-connectivity/files/lesson-page.html")
after_kb=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
ratio=$(awk -v a="$page_rps" -v b="$static_rps" 'BEGIN { printf "%.0f", 100 * a / b }')

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
echo "page size: $bytes bytes"
printf '%-22s %12s %10s %10s\n' "url" "req/s" "p50" "p99"
printf '%-22s %12s %10s %10s\n' "rendered lesson" "$page_rps" "$page_p50" "$page_p99"
printf '%-22s %12s %10s %10s\n' "same bytes, static" "$static_rps" "$static_p50" "$static_p99"
echo "rendered / static throughput: ${ratio}%"
echo "start-up to first healthy response: ${startup_ms} ms"
echo "idle RSS: $((idle_kb / 1024)) MiB; after the load: $((after_kb / 1024)) MiB"
