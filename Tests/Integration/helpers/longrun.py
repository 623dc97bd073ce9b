#!/usr/bin/env python3
"""Long run (not in CI): usher as PID 1 supervising, for N minutes, a pod that keeps it busy, while
its memory and file descriptors are sampled. Both must stay flat.

    python3 Tests/Integration/helpers/longrun.py [--minutes 5] [--interval 10] [--usher dist/usher]

The pod (usher -f):
  - crashy: a sidecar that crashes after 1 s, in a loop (restarted with the kubelet's back-off:
    at once, then 10 s, 20 s, 40 s, ... so only a handful of restarts in 5 minutes);
  - flappy: a sidecar whose liveness probe (exec) fails every third run: stopped and restarted
    with the same back-off;
  - forker: a sidecar that forks a child every 2 ms, every other one an orphan that usher must
    reap (about 250 orphans a second), with an httpGet readiness probe to a small HTTP server
    run by this script;
  - web: the main container (the storm helper counting signals), with an exec readiness probe
    that flips every second (a child each second, and a ready / not ready log line each second)
    and a tcpSocket liveness probe to the same server.
  Meanwhile this script sends usher 100 signals a second (SIGUSR1, SIGHUP, SIGRTMIN+1), which it
  forwards to web.
Every --interval seconds: usher's VmRSS, VmHWM, open fds, children, zombies. At the end SIGTERM;
usher must exit 143. Prints the series and a JSON summary; exits 1 if RSS or fds grew."""
import argparse
import http.server
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from helpers.podfile import container, exec_probe, http_probe, sidecar, tcp_probe, write_pod  # noqa: E402
from helpers.proc import state  # noqa: E402
from helpers.programs import build_c  # noqa: E402
from helpers.reliability import fd_count, kib, read_received  # noqa: E402


def serve():
    class Quiet(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *a):
            pass
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def children(pid):
    try:
        return [int(k) for k in open(f"/proc/{pid}/task/{pid}/children").read().split()]
    except FileNotFoundError:
        return []


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=5)
    ap.add_argument("--interval", type=float, default=10)
    ap.add_argument("--usher", default=os.environ.get("USHER_BIN", os.path.join(HERE, "../../../dist/usher")))
    opts = ap.parse_args()
    storm = build_c("storm.c")
    work = tempfile.mkdtemp(prefix="usher-longrun-")
    server = serve()
    port = server.server_address[1]
    seconds = int(opts.minutes * 60) + 60
    flip = os.path.join(work, "flip")
    live = os.path.join(work, "live")
    pod = write_pod(
        __import__("pathlib").Path(work), terminationGracePeriodSeconds=5,
        init=[sidecar("crashy", ["sh", "-c", "sleep 1; exit 1"]),
              sidecar("flappy", ["sleep", str(seconds)],
                      livenessProbe=exec_probe(["sh", "-c", f"n=$(cat {live} 2>/dev/null || echo 0); echo $((n+1)) > {live}; [ $((n % 3)) -ne 2 ]"],
                                               period=1, failures=1)),
              sidecar("forker", [storm, "main", "--out", os.path.join(work, "forker"), "--fork-every-us", "2000",
                                 "--orphan-every", "2", "--run-for-s", str(seconds)],
                      readinessProbe=http_probe(port, period=1))],
        containers=[container("web", [storm, "main", "--out", os.path.join(work, "web"), "--run-for-s", str(seconds)],
                              readinessProbe=exec_probe(["sh", "-c", f"if [ -e {flip} ]; then rm {flip}; exit 1; else touch {flip}; fi"],
                                                        period=1, failures=1),
                              livenessProbe=tcp_probe(port, period=1))])
    err = open(os.path.join(work, "stderr"), "w")
    p = subprocess.Popen(["unshare", "--pid", "--fork", "--mount-proc", opts.usher, "-f", pod],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
    time.sleep(0.5)
    usher = children(p.pid)[0]
    stop = threading.Event()
    sent = [0]

    def pester():
        sigs = [signal.SIGUSR1, signal.SIGHUP, signal.SIGRTMIN + 1]
        while not stop.is_set():
            for _ in range(10):
                try:
                    os.kill(usher, sigs[sent[0] % 3])
                    sent[0] += 1
                except ProcessLookupError:
                    return
            time.sleep(0.1)
    threading.Thread(target=pester, daemon=True).start()

    samples = []
    start = time.monotonic()
    print(f"{'t (s)':>6} {'VmRSS KiB':>10} {'VmHWM KiB':>10} {'fds':>4} {'children':>8} {'zombies':>7} "
          f"{'orphans made':>12} {'signals sent':>12} {'log lines':>9}")
    while True:
        t = time.monotonic() - start
        kids = children(usher)
        forker = read_received(os.path.join(work, "forker")) or {"orphans": 0}
        s = {"t": round(t), "rss": kib(usher, "VmRSS"), "hwm": kib(usher, "VmHWM"), "fds": fd_count(usher),
             "children": len(kids), "zombies": sum(1 for k in kids if state(k) == "Z"),
             "orphans": forker["orphans"], "signals": sent[0],
             "log_lines": sum(1 for _ in open(os.path.join(work, "stderr")))}
        samples.append(s)
        print(f"{s['t']:>6} {s['rss']:>10} {s['hwm']:>10} {s['fds']:>4} {s['children']:>8} {s['zombies']:>7} "
              f"{s['orphans']:>12} {s['signals']:>12} {s['log_lines']:>9}", flush=True)
        if t >= opts.minutes * 60 or p.poll() is not None:
            break
        time.sleep(max(0, opts.interval - (time.monotonic() - start - t)))
    stop.set()
    os.kill(usher, signal.SIGTERM)
    code = p.wait(timeout=30)
    err.close()
    log = open(os.path.join(work, "stderr")).read().splitlines()
    web = read_received(os.path.join(work, "web")) or {"recv": {}}
    restarts = {n: sum(1 for l in log if f" {n} will be restarted" in l) for n in ("crashy", "flappy")}
    # Flat: compared with the sample after the first minute (start-up allocations done).
    base = next((s for s in samples if s["t"] >= 60), samples[0])
    last = samples[-1]
    summary = {"minutes": opts.minutes, "exit_status": code, "rss_kib_first": samples[0]["rss"],
               "rss_kib_at_1min": base["rss"], "rss_kib_last": last["rss"], "hwm_kib_last": last["hwm"],
               "fds_first": samples[0]["fds"], "fds_last": last["fds"], "fds_max": max(s["fds"] for s in samples),
               "orphans_reaped": last["orphans"], "signals_sent": sent[0],
               "signals_forwarded_to_web": {str(k): v[0] for k, v in sorted(web["recv"].items())},
               "restarts": restarts, "log_lines": len(log),
               "max_zombies_seen": max(s["zombies"] for s in samples)}
    print(json.dumps(summary, indent=2))
    grew = last["rss"] - base["rss"] > 64 or last["fds"] > base["fds"] + 1
    ok = code == 143 and not grew
    print("FLAT" if not grew else "GREW", "exit", code)
    server.shutdown()
    subprocess.run(["rm", "-rf", work, os.path.dirname(storm)])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
