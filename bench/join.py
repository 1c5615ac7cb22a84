#!/usr/bin/env python3
"""Time from joining a `kind` workshop to a ready cluster, with a warm pool and without one,
on a release build.

    cargo build --release --workspace && python3 bench/join.py

No container can run here, so `kind` and `docker` are small fake programs (as in the tests):
`kind create cluster` takes the next simulated cluster (a fake API server started with
--simulate-kind) after FAKE_BOOT_SECONDS (default 0). What is measured is kubelab's own part:
provisioning, the lesson's node preparation through the fakes, the pinned Flannel applied and
every node Ready on the simulated cluster, and the assignment. A real kind boot (30 to 60 s)
adds to the figure without a warm pool and not to the one with it.
"""
import hashlib, http.client, json, os, re, shutil, signal, subprocess, tarfile, tempfile, time

BIN = os.path.abspath(os.environ.get("BIN", "target/release/kubelab"))
FAKE = os.path.abspath(os.environ.get("FAKE", "target/release/fake-apiserver"))
PORT = int(os.environ.get("PORT", "18283"))
ROUNDS = int(os.environ.get("ROUNDS", "5"))
SECRET = "bench-instructor-secret-0123456789"

KIND = r'''#!/bin/sh
ROOT="__ROOT__"
case "$1 $2" in
  "get clusters") cat "$ROOT/clusters" 2>/dev/null; exit 0 ;;
  "get nodes") echo "$4-control-plane"; echo "$4-worker"; exit 0 ;;
  "get kubeconfig") cat "$ROOT/made/$4"; exit $? ;;
  "create cluster")
    name=""; while [ $# -gt 0 ]; do [ "$1" = "--name" ] && name="$2"; shift; done
    sleep "${FAKE_BOOT_SECONDS:-0}"
    for f in "$ROOT"/pool/*; do
      if [ -f "$f" ] && mv "$f" "$ROOT/made/$name" 2>/dev/null; then
        ( flock 9; echo "$name" >> "$ROOT/clusters" ) 9>"$ROOT/lock"; exit 0
      fi
    done
    echo "no free simulated cluster" >&2; exit 1 ;;
  "delete cluster")
    ( flock 9; grep -v -x -e "$4" "$ROOT/clusters" > "$ROOT/c.new"; mv "$ROOT/c.new" "$ROOT/clusters" ) 9>"$ROOT/lock"
    rm -f "$ROOT/made/$4"; exit 0 ;;
esac
exit 3
'''
DOCKER = r'''#!/bin/sh
case "$1" in
  info) echo 27.0.0 ;;
  exec) [ "$3" = uname ] && echo x86_64 ;;
esac
exit 0
'''

work = tempfile.mkdtemp()
procs = []

def cleanup():
    for p in procs:
        try:
            p.send_signal(signal.SIGTERM); p.wait(timeout=5)
        except Exception:
            p.kill()
    shutil.rmtree(work, ignore_errors=True)

def request(method, path, body=None, cookie=None):
    c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
    h = {"Host": f"127.0.0.1:{PORT}"}
    if cookie: h["Cookie"] = cookie
    if body is not None:
        h["Content-Type"] = "application/json"; body = json.dumps(body)
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    return r.status, r.getheader("Set-Cookie"), r.read()

def simulated_cluster(n):
    out = os.path.join(work, f"sim-{n}.yaml")
    procs.append(subprocess.Popen([FAKE, "--simulate-kind", f"lab{n}", "--kubeconfig-out", out, "--context", "kind-lab"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    while not os.path.exists(out) or os.path.getsize(out) == 0: time.sleep(0.05)
    shutil.copy(out, os.path.join(work, "pool", f"{n:03d}"))

def workshop(instructor, warm):
    _, _, body = request("POST", "/api/v1/workshops", {"title": f"warm {warm}", "lesson": "pod-connectivity",
        "tasks": ["deploy-two-pods"], "provider": {"kind": "kind", "warm": warm, "parallel": 2}}, cookie=instructor)
    return json.loads(body)

def join_to_ready(code, n):
    cookie = f"kubelab_learner={0xb00 + n:032x}"
    t0 = time.time()
    status, _, body = request("POST", "/api/v1/join", {"code": code, "display_name": f"L{n}"}, cookie=cookie)
    assert status == 200, body
    while True:
        mine = json.loads(request("GET", "/api/v1/workshop", cookie=cookie)[2])
        if mine["cluster"]["state"] == "ready": return time.time() - t0
        if mine["cluster"]["state"] == "failed": raise SystemExit(f"cluster failed: {mine}")
        if time.time() - t0 > 120: raise SystemExit(f"not ready within 120 s: {mine}")
        time.sleep(0.02)

try:
    for d in ["bin", "pool", "made", "tarsrc"]: os.mkdir(os.path.join(work, d))
    for name, text in [("kind", KIND), ("docker", DOCKER)]:
        path = os.path.join(work, "bin", name)
        open(path, "w").write(text.replace("__ROOT__", work)); os.chmod(path, 0o755)
    # The lesson's content with the plugins pin set to a stand-in tarball's checksum.
    open(os.path.join(work, "tarsrc", "bridge"), "w").write("#!/bin/sh\n")
    tgz = os.path.join(work, "plugins.tgz")
    with tarfile.open(tgz, "w:gz") as t: t.add(os.path.join(work, "tarsrc", "bridge"), arcname="bridge")
    sha = hashlib.sha256(open(tgz, "rb").read()).hexdigest()
    shutil.copytree("content", os.path.join(work, "content"))
    lesson = os.path.join(work, "content/lessons/pod-connectivity/lesson.yaml")
    text = re.sub(r"(amd64: )[0-9a-f]{64}", lambda m: m.group(1) + sha, open(lesson).read())
    open(lesson, "w").write(text)
    open(os.path.join(work, "bnf"), "w").write("1\n")
    for n in range(3 * ROUNDS + 4): simulated_cluster(n)
    token = os.path.join(work, "token"); open(token, "w").write(SECRET)
    env = dict(os.environ, PATH=os.path.join(work, "bin") + ":/usr/bin:/bin",
               KUBELAB_BR_NETFILTER_PATH=os.path.join(work, "bnf"), KUBELAB_CNI_PLUGINS_TARBALL=tgz,
               KUBELAB_FLANNEL_MANIFEST=os.path.abspath("tests/fixtures/kube-flannel-v0.28.9.yml"))
    procs.append(subprocess.Popen([BIN, "serve", "--addr", f"127.0.0.1:{PORT}", "--db", os.path.join(work, "k.db"),
        "--content", os.path.join(work, "content"), "--kubeconfig", os.path.join(work, "none"),
        "--instructor-token-file", token], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    for _ in range(100):
        try:
            if request("GET", "/healthz")[0] == 200: break
        except OSError: pass
        time.sleep(0.1)
    instructor = request("GET", f"/instructor/sign-in?token={SECRET}")[1].split(";")[0]

    cold = workshop(instructor, 0)
    times = [join_to_ready(cold["code"], n) for n in range(ROUNDS)]
    print(f"without a warm pool: join to ready cluster median {sorted(times)[len(times)//2]*1000:.0f} ms, "
          f"max {max(times)*1000:.0f} ms over {ROUNDS} joins (plus the real kind boot, 30 to 60 s)")

    warm = workshop(instructor, ROUNDS)
    t0 = time.time()
    while True:
        roster = json.loads(request("GET", f"/api/v1/workshops/{warm['id']}", cookie=instructor)[2])
        if sum(1 for c in roster["clusters"] if c["state"] == "ready") >= ROUNDS: break
        if time.time() - t0 > 180: raise SystemExit(f"warm pool not ready: {roster['clusters']}")
        time.sleep(0.1)
    times = [join_to_ready(warm["code"], 100 + n) for n in range(ROUNDS)]
    print(f"with a warm pool: join to ready cluster median {sorted(times)[len(times)//2]*1000:.0f} ms, "
          f"max {max(times)*1000:.0f} ms over {ROUNDS} joins")
finally:
    cleanup()
