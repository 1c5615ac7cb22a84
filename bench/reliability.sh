#!/usr/bin/env bash
# Reliability probes on a release build (root needed for the tmpfs disk-full probe):
#   cargo build --release --workspace && sudo bench/reliability.sh
# Prints one line per probe; results go to BENCHMARKS.md by hand.
set -u
BIN=${BIN:-target/release/kubelab}
FAKE=${FAKE:-target/release/fake-apiserver}
PORT=${PORT:-18181}
WORK=$(mktemp -d)
BASE="http://127.0.0.1:$PORT"
SECTION="$BASE/api/v1/lessons/pod-connectivity/sections/theory/complete"
cleanup() { kill "$PID" "$FAKE_PID" 2>/dev/null; umount -l "$WORK/disk" 2>/dev/null; rm -rf "$WORK"; }
# A simulated lesson cluster, so task pages hold live streams open as on a real one.
"$FAKE" --simulate-kind kubelab --kubeconfig-out "$WORK/kubeconfig" --context kind-kubelab >/dev/null 2>&1 &
FAKE_PID=$!
for _ in $(seq 50); do [ -s "$WORK/kubeconfig" ] && break; sleep 0.1; done
trap cleanup EXIT

start() { # start DB
  "$BIN" serve --addr "127.0.0.1:$PORT" --db "$1" --kubeconfig "$WORK/kubeconfig" 2>>"$WORK/server.log" &
  PID=$!
  for _ in $(seq 50); do curl -sf "$BASE/healthz" >/dev/null && return 0; sleep 0.1; done
  echo "server did not start"; cat "$WORK/server.log"; exit 1
}
stop() { kill -TERM "$PID"; wait "$PID" 2>/dev/null; }
cookie() { printf 'kubelab_learner=%032x' "$1"; }
post() { curl -s -o /dev/null -w '%{http_code}' -X POST -H "Cookie: $(cookie "$1")" "$SECTION"; }

echo "== disk full on a 4 MB tmpfs, then space back, then SIGTERM and restart"
mkdir -p "$WORK/disk"
if mount -t tmpfs -o size=4m tmpfs "$WORK/disk" 2>/dev/null; then
  start "$WORK/disk/kubelab.db"
  ok=(); refused=0
  for i in $(seq 1 5); do [ "$(post "$i")" = 200 ] && ok+=("$i"); done
  dd if=/dev/zero of="$WORK/disk/filler" bs=64k 2>/dev/null
  for i in $(seq 100 120); do c=$(post "$i"); if [ "$c" = 200 ]; then ok+=("$i"); else refused=$((refused+1)); fi; done
  body=$(curl -s -X POST -H "Cookie: $(cookie 999)" "$SECTION")
  health_full=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/healthz")
  rm -f "$WORK/disk/filler"
  slow=0
  for i in $(seq 200 209); do
    t0=$(date +%s%N); c=$(post "$i"); t1=$(date +%s%N)
    [ "$c" = 200 ] && ok+=("$i")
    [ $(( (t1-t0)/1000000 )) -gt 1000 ] && slow=$((slow+1))
  done
  stop
  start "$WORK/disk/kubelab.db"
  lost=0
  for i in "${ok[@]}"; do
    curl -s -H "Cookie: $(cookie "$i")" "$BASE/api/v1/progress" | grep -q '"id":"theory","done":true' || lost=$((lost+1))
  done
  stop
  echo "acknowledged ${#ok[@]}, refused while full $refused (e.g. $body), /healthz while full $health_full, slow writes after space came back $slow, acknowledged but lost $lost"
else
  echo "skipped: mounting a tmpfs needs root"
fi

start "$WORK/kubelab.db"
echo "== 1,100 idle connections"
python3 - "$PORT" <<'PY'
import socket, sys, time, urllib.request
port = int(sys.argv[1])
conns = []
for _ in range(1100):
    try:
        conns.append(socket.create_connection(("127.0.0.1", port)))
    except OSError as e:
        print("connect failed:", e); break
time.sleep(0.5)
def health():
    try:
        return urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5).status
    except Exception as e:
        return getattr(e, "code", str(e))
print(f"opened {len(conns)}; /healthz now: {health()}")
t0 = time.time()
while time.time() - t0 < 40:
    if health() == 200:
        break
    time.sleep(1)
back = time.time() - t0
time.sleep(max(0, 32 - back))
busy = closed = still = 0
for c in conns:
    c.settimeout(0.01)
    try:
        data = c.recv(64)
        if data.startswith(b"HTTP/1.1 503"):
            busy += 1
        elif data == b"":
            closed += 1
        else:
            still += 1
    except socket.timeout:
        still += 1
    except OSError:
        closed += 1
print(f"/healthz answers 200 again after {back:.0f} s; of the 1,100: {busy} answered 503 at once, {closed} closed by the header timeout, {still} still open after 32 s")
PY

echo "== declared 100 MB body, 2 bytes sent"
python3 - "$PORT" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
t0 = time.time()
s.sendall(b"PUT /api/v1/learner HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\n\r\n{}")
s.settimeout(5)
first = s.recv(200).split(bytes([13, 10]))[0].decode()
print(f"answer after {time.time()-t0:.3f} s: {first}")
PY

echo "== bad inputs under /api/"
for req in "POST /api/v1/tasks/%FF/check" "DELETE /api/v1/progress" "GET /api/v1/nope"; do
  set -- $req
  ct=$(curl -s -o /dev/null -w '%{http_code} %{content_type}' -X "$1" "$BASE$2")
  echo "$req -> $ct"
done

echo "== 1,000 writes with invented cookies"
codes=$(for i in $(seq 5000 5999); do post "$i"; echo; done | sort | uniq -c | tr '\n' ' ')
echo "status counts: $codes"

echo "== SIGTERM with a live stream open"
curl -sN -H "Cookie: $(cookie 1)" "$BASE/tasks/deploy-two-pods/live" >/dev/null &
CURL=$!
sleep 1
t0=$(date +%s%N); kill -TERM "$PID"; wait "$PID"; t1=$(date +%s%N)
echo "exit after $(( (t1-t0)/1000000 )) ms"
kill "$CURL" 2>/dev/null
