#!/usr/bin/env bash
# Benchmark: the lesson page of a returning learner with progress, served by `kubelab serve`,
# side by side with two yardsticks serving the very bytes kubelab sent:
#   nginx   Debian's nginx-light (or nginx): 2 workers, sendfile on, access log off, the gzip
#           form through gzip_static (a precompressed file), on loopback, started by this script
#   hyper   examples/static_ceiling.rs: the smallest hyper server, the bytes from memory
# wrk -t2 -c32, DURATION seconds per run, ROUNDS alternating rounds, medians, and only 2xx
# responses counted; once without and once with `Accept-Encoding: gzip`. Then the size on the
# wire, the 304 of a revisit, start-up (process start to a 200 from /healthz, median of 5)
# and resident memory.
#
# Usage: bench/lesson.sh
#   DURATION=8   seconds per wrk run (at least 6 for the recorded figures)
#   ROUNDS=3     alternating rounds
#   PORT=18080   first of the three loopback ports used
# Needs wrk, nginx (apt-get install wrk nginx-light) and cargo.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "needs wrk: apt-get install wrk" >&2; exit 1; }
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
[[ -x $nginx_bin ]] || { echo "needs nginx: apt-get install nginx-light" >&2; exit 1; }
DURATION=${DURATION:-8}
ROUNDS=${ROUNDS:-3}
port=${PORT:-18080}
nginx_port=$((port + 1))
hyper_port=$((port + 2))

cargo build --release --locked --quiet --bin kubelab --example static_ceiling
bin=target/release/kubelab
work=$(mktemp -d)
chmod 755 "$work" # nginx's workers run as nobody
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

base="http://127.0.0.1:$port"
path=/lessons/pod-connectivity

now_ms() { local t=$EPOCHREALTIME; t=${t/[.,]/}; echo $((t / 1000)); }

# start_kubelab: serve on $port; sets kubelab_pid and startup_ms.
start_kubelab() {
  local t0
  t0=$(now_ms)
  "$bin" serve --addr "127.0.0.1:$port" --db "$work/kubelab.db" 2>>"$work/serve.log" &
  kubelab_pid=$!
  pids+=("$kubelab_pid")
  until curl -fs "$base/healthz" >/dev/null 2>&1; do sleep 0.002; done
  startup_ms=$(($(now_ms) - t0))
}
stop_kubelab() { kill "$kubelab_pid"; wait "$kubelab_pid" 2>/dev/null || true; }

median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# Start-up with all content, five times (the first also creates the database).
starts=()
for _ in 1 2 3 4 5; do
  start_kubelab
  starts+=("$startup_ms")
  stop_kubelab
done
startup_median=$(printf '%s\n' "${starts[@]}" | median)

start_kubelab
sleep 1
idle_kb=$(awk '/VmRSS/ {print $2}' "/proc/$kubelab_pid/status")

# A returning learner: two sections done, so the page carries real per-learner state.
cookie=$(curl -s -D - -o /dev/null "$base/" | sed -n 's/^[Ss]et-[Cc]ookie: \(kubelab_learner=[0-9a-f]*\).*/\1/p')
[[ -n $cookie ]] || { echo "kubelab gave no learner cookie" >&2; exit 1; }
for section in theory key-concepts; do
  curl -fs -X POST -H "Cookie: $cookie" "$base/api/v1/lessons/pod-connectivity/sections/$section/complete" >/dev/null
done
mkdir -p "$work/www"
curl -fs -H "Cookie: $cookie" "$base$path" -o "$work/www/lesson.html"
# The first sight of this state is answered stitched; wait for its whole-page compression.
curl -fs -H "Cookie: $cookie" -H 'Accept-Encoding: gzip' -o "$work/stitched.gz" "$base$path"
for ((i = 0; i < 500; i++)); do
  curl -fs -H "Cookie: $cookie" -H 'Accept-Encoding: gzip, deflate, br' -D "$work/br.headers" -o "$work/lesson.html.br" "$base$path"
  grep -qi '^content-encoding: br' "$work/br.headers" && break
  sleep 0.01
done
grep -qi '^content-encoding: br' "$work/br.headers" || { echo "kubelab never sent brotli" >&2; exit 1; }
curl -fs -H "Cookie: $cookie" -H 'Accept-Encoding: gzip' -D "$work/gzip.headers" "$base$path" -o "$work/www/lesson.html.gz"
grep -qi '^content-encoding: gzip' "$work/gzip.headers" || { echo "kubelab did not send gzip" >&2; exit 1; }
gunzip -c "$work/www/lesson.html.gz" | cmp -s - "$work/www/lesson.html" || { echo "the gzip page differs from the plain one" >&2; exit 1; }
grep -q 'class="lesson-section done"' "$work/www/lesson.html" || { echo "the page shows no progress" >&2; exit 1; }
chmod 644 "$work/www/"*
etag=$(sed -n 's/^[Ee][Tt]ag: *\([^\r]*\).*/\1/p' "$work/gzip.headers")
revisit=$(curl -s -o /dev/null -w '%{http_code} %{size_download}' -H "Cookie: $cookie" -H 'Accept-Encoding: gzip' -H "If-None-Match: $etag" "$base$path")

mkdir -p "$work/nginx"
cat >"$work/nginx/nginx.conf" <<EOF
worker_processes 2;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_requests 100000000;
  keepalive_timeout 75s;
  gzip_static on;
  gzip_vary on;
  default_type text/html;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  server {
    listen 127.0.0.1:$nginx_port;
    root $work/www;
  }
}
EOF
"$nginx_bin" -c "$work/nginx/nginx.conf" -p "$work/nginx" 2>"$work/nginx/stderr" &
pids+=("$!")
target/release/examples/static_ceiling --addr "127.0.0.1:$hyper_port" \
  --file "$work/www/lesson.html" --file-gzip "$work/www/lesson.html.gz" \
  --header 'content-type: text/html; charset=utf-8' 2>"$work/hyper.err" &
pids+=("$!")
for p in "$nginx_port" "$hyper_port"; do
  for ((i = 0; i < 500; i++)); do curl -fs -o /dev/null "http://127.0.0.1:$p/lesson.html" && break; sleep 0.01; done
done

declare -A url=(
  [kubelab]="$base$path"
  [nginx]="http://127.0.0.1:$nginx_port/lesson.html"
  [hyper]="http://127.0.0.1:$hyper_port/lesson.html"
)
servers=(kubelab nginx hyper)

# Every server answers with the same bytes, plain and gzip.
for s in nginx hyper; do
  curl -fs "${url[$s]}" | cmp -s - "$work/www/lesson.html" || { echo "$s does not serve kubelab's bytes" >&2; exit 1; }
  curl -fs -H 'Accept-Encoding: gzip' "${url[$s]}" | cmp -s - "$work/www/lesson.html.gz" || { echo "$s does not serve kubelab's gzip bytes" >&2; exit 1; }
done

# to_us VALUE: wrk's latency (e.g. 312.5us, 1.20ms, 2.1s) in microseconds.
to_us() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) f = 1; else if (v ~ /ms$/) f = 1000; else if (v ~ /s$/) f = 1000000; else f = 1; printf "%.1f", n * f }'; }

# run SERVER ENCODING: one wrk run; prints "2xx-per-second p50-us p99-us".
run() {
  local out=$work/wrk.txt extra=()
  [[ $2 == gzip ]] && extra=(-H 'Accept-Encoding: gzip')
  wrk -t2 -c32 -d"${DURATION}s" --latency -H "Cookie: $cookie" "${extra[@]}" "${url[$1]}" >"$out"
  local total secs bad
  total=$(awk '/requests in/ {print $1}' "$out")
  secs=$(awk '/requests in/ {gsub(/s,?$/, "", $4); print $4}' "$out")
  bad=$(awk '/Non-2xx or 3xx responses/ {print $5}' "$out")
  bad=${bad:-0}
  awk -v t="$total" -v s="$secs" -v b="$bad" -v p50="$(to_us "$(awk '$1 == "50%" {print $2}' "$out")")" \
    -v p99="$(to_us "$(awk '$1 == "99%" {print $2}' "$out")")" 'BEGIN { printf "%.0f %s %s\n", (t - b) / s, p50, p99 }'
}

declare -A rps p50 p99
for enc in identity gzip; do
  for ((r = 1; r <= ROUNDS; r++)); do
    for s in "${servers[@]}"; do
      read -r a b c < <(run "$s" "$enc")
      rps[$s.$enc]+="$a "
      p50[$s.$enc]+="$b "
      p99[$s.$enc]+="$c "
    done
  done
done
after_kb=$(awk '/VmRSS/ {print $2}' "/proc/$kubelab_pid/status")

med() { tr ' ' '\n' <<<"$1" | grep . | median; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", 100 * a / b }'; }
times() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
verdict() { if awk "BEGIN { exit !($1) }"; then echo "met"; else echo "MISSED"; fi; }

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
echo "versions: $("$bin" --version), $("$nginx_bin" -v 2>&1 | sed 's/.*: //'), $(wrk -v 2>&1 | head -1 | awk '{print $1, $2}')"
echo "wrk -t2 -c32 -d${DURATION}s, $ROUNDS alternating rounds, medians, 2xx only"
br_bytes=$(wc -c <"$work/lesson.html.br")
echo "page: $(wc -c <"$work/www/lesson.html") bytes plain; on the wire: $br_bytes brotli (goal: under 32768: $(verdict "$br_bytes < 32768")), $(wc -c <"$work/www/lesson.html.gz") gzip, $(wc -c <"$work/stitched.gz") gzip on a state's first view (stitched)"
echo "revisit with If-None-Match: HTTP $revisit bytes"
for enc in identity gzip; do
  echo
  echo "== $enc =="
  printf '%-8s %10s %10s %10s\n' server "2xx/s" "p50 us" "p99 us"
  for s in "${servers[@]}"; do
    printf '%-8s %10s %10s %10s\n' "$s" "$(med "${rps[$s.$enc]}")" "$(med "${p50[$s.$enc]}")" "$(med "${p99[$s.$enc]}")"
  done
  k=$(med "${rps[kubelab.$enc]}") n=$(med "${rps[nginx.$enc]}") h=$(med "${rps[hyper.$enc]}")
  kp=$(med "${p50[kubelab.$enc]}") np=$(med "${p50[nginx.$enc]}")
  echo "kubelab / hyper throughput: $(pct "$k" "$h")% (goal >= 80%: $(verdict "$k >= 0.8 * $h"))"
  echo "kubelab / nginx throughput: $(pct "$k" "$n")% (goal >= 50%: $(verdict "$k >= 0.5 * $n"))"
  echo "kubelab / nginx p50: $(times "$kp" "$np")x (goal <= 1.5x: $(verdict "$kp <= 1.5 * $np"))"
done
echo
echo "start-up to first healthy response: ${startup_median} ms median of 5 (${starts[*]}) (goal < 300: $(verdict "$startup_median < 300"))"
echo "idle RSS: $((idle_kb / 1024)) MiB (goal < 40: $(verdict "$idle_kb < 40 * 1024")); after the load: $((after_kb / 1024)) MiB"
