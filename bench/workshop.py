#!/usr/bin/env python3
"""Workshop numbers on a release build: idle CPU with 40 learners connected (each with a task
page's live stream open, plus the instructor's live roster), and the roster's update latency
after a cluster change.

    cargo build --release --workspace && python3 bench/workshop.py

Every learner's kubeconfig points at one fake API server (--simulate-kind), so the 40 streams
share its watchers; each still runs its own checks and stores its own verdicts.
"""
import http.client, json, os, shutil, signal, subprocess, sys, tempfile, threading, time

BIN = os.environ.get("BIN", "target/release/kubelab")
FAKE = os.environ.get("FAKE", "target/release/fake-apiserver")
PORT = int(os.environ.get("PORT", "18282"))
LEARNERS = int(os.environ.get("LEARNERS", "40"))
SECRET = "bench-instructor-secret-0123456789"

work = tempfile.mkdtemp()
procs = []

def cleanup():
    for p in procs:
        try:
            p.send_signal(signal.SIGTERM); p.wait(timeout=5)
        except Exception:
            p.kill()
    shutil.rmtree(work, ignore_errors=True)

def request(method, path, body=None, cookie=None, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
    h = {"Host": f"127.0.0.1:{PORT}"}
    if cookie: h["Cookie"] = cookie
    if body is not None:
        h["Content-Type"] = "application/json"; body = json.dumps(body)
    h.update(headers or {})
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    return r.status, r.getheader("Set-Cookie"), data

def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

try:
    kube = os.path.join(work, "kubeconfig")
    fake = subprocess.Popen([FAKE, "--simulate-kind", "kubelab", "--kubeconfig-out", kube, "--context", "kind-kubelab"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.append(fake)
    while not os.path.exists(kube) or os.path.getsize(kube) == 0: time.sleep(0.05)
    server_url = [l.split("server:")[1].strip() for l in open(kube) if "server:" in l][0]
    # A working pod network on the simulated cluster: the pinned Flannel from the fixture.
    subprocess.run(["kubectl", "--kubeconfig", kube, "apply", "-f", "tests/fixtures/kube-flannel-v0.28.9.yml"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    folder = os.path.join(work, "clusters"); os.mkdir(folder)
    for n in range(LEARNERS):
        shutil.copy(kube, os.path.join(folder, f"learner-{n:02d}.yaml"))
    token = os.path.join(work, "token"); open(token, "w").write(SECRET)
    server = subprocess.Popen([BIN, "serve", "--addr", f"127.0.0.1:{PORT}", "--db", os.path.join(work, "k.db"),
                               "--kubeconfig", kube, "--instructor-token-file", token],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.append(server)
    for _ in range(100):
        try:
            if request("GET", "/healthz")[0] == 200: break
        except OSError: pass
        time.sleep(0.1)
    _, set_cookie, _ = request("GET", f"/instructor/sign-in?token={SECRET}")
    instructor = set_cookie.split(";")[0]
    _, _, body = request("POST", "/api/v1/workshops", {"title": "bench", "lesson": "pod-connectivity",
                          "provider": {"kind": "kubeconfigs", "dir": folder}}, cookie=instructor)
    ws = json.loads(body)
    cookies = []
    for n in range(LEARNERS):
        cookie = f"kubelab_learner={n + 0xbe00:032x}"
        status, _, _ = request("POST", "/api/v1/join", {"code": ws["code"], "display_name": f"L{n}"}, cookie=cookie)
        assert status == 200, status
        cookies.append(cookie)

    def stream(path, cookie, sink=None):
        c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=120)
        c.request("GET", path, headers={"Host": f"127.0.0.1:{PORT}", "Cookie": cookie, "Accept": "text/event-stream"})
        r = c.getresponse()
        while True:
            line = r.fp.readline()
            if not line: return
            if sink is not None and line.startswith(b"event: cell"): sink.append(time.time())

    for cookie in cookies:
        threading.Thread(target=stream, args=("/tasks/deploy-two-pods/live", cookie), daemon=True).start()
    cells = []
    threading.Thread(target=stream, args=(f"/instructor/workshops/{ws['id']}/live", instructor, cells), daemon=True).start()
    time.sleep(8)  # first checks of every stream settle
    cells.clear()
    before = cpu_seconds(server.pid); t0 = time.time()
    time.sleep(10)
    idle = (cpu_seconds(server.pid) - before) / (time.time() - t0) * 100
    print(f"idle with {LEARNERS} learners' live task pages and the live roster open: {idle:.2f} % of one core")

    # A change on the cluster: namespace test appears; every learner's verdict changes.
    host = server_url.split("//")[1]
    c = http.client.HTTPConnection(host.split(":")[0], int(host.split(":")[1]))
    t_change = time.time()
    c.request("POST", "/api/v1/namespaces", body=json.dumps({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "test"}}),
              headers={"Content-Type": "application/json"})
    c.getresponse().read()
    deadline = time.time() + 15
    while len(cells) < LEARNERS and time.time() < deadline: time.sleep(0.02)
    if cells:
        print(f"roster: first cell {(cells[0]-t_change)*1000:.0f} ms after the change, "
              f"{len(cells)} of {LEARNERS} cells within {(max(cells)-t_change)*1000:.0f} ms")
    else:
        print("roster: no cell update within 15 s")
finally:
    cleanup()
