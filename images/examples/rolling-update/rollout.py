#!/usr/bin/env python3
"""A rolling update in a real engine behind a real load balancer, once per init, measured.

For each setup (the init that runs the replica) and each repetition:
  1. v1 runs (a podman container on the host network: nginx as the app, a second nginx as its
     sidecar), is ready, and is the balancer's only backend (HAProxy, TCP mode, no retries).
  2. The load generator starts (loadgen.py: --rate requests per second, each on a new
     connection, through the balancer).
  3. v2 starts; once it answers it joins the balancer (maxSurge 1, maxUnavailable 0).
  4. One second later, at the same instant t0, as Kubernetes does when it deletes the old pod:
     v1 leaves the balancer --lag seconds later (the endpoints' propagation delay; HAProxy's
     server goes to maintenance then), and `podman stop -t GRACE v1` begins.
  5. The load runs on until v1 has stopped and the lag has passed, plus a second.
Then `usher rehearse --probe` runs in the same replica image, against the app's own port.

Writes RESULTS/results.json, RESULTS/results.md (the table) and RESULTS/rollout.png (the plot).
Exits 1 when a setup that must drop nothing (usher with a preStop) dropped a request, or when a
run could not be made (a replica never became ready, no request was answered); never on a timing.
"""
import argparse
import datetime
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))

# (key, label, image target, must drop nothing, rehearsed as)
SETUPS = [
    ("no-init", "no init (nginx is PID 1)", False, "usher-no-pre-stop"),
    ("tini", "tini-static as ENTRYPOINT", False, "usher-no-pre-stop"),
    ("usher-no-pre-stop", "usher, no preStop", False, "usher-no-pre-stop"),
    ("usher-pre-stop", "usher --pre-stop 3s (flags)", True, "usher-pre-stop"),
    ("usher-pod", "usher -f, preStop sleep 3s (Deployment)", True, "usher-pod"),
]
IMAGE = "localhost/usher-rollout:{}"
# The plot's window, in seconds from t0 (the old replica's deletion).
PLOT_START, PLOT_END = -2.0, 5.0
PRE_STOP = 3.0   # the preStop of the usher setups (Dockerfile, deployment.yaml)


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, file=sys.stderr, flush=True)


def podman(*args, check=True, timeout=120):
    r = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError(f"podman {' '.join(args)} failed ({r.returncode}): {r.stderr.strip()}")
    return r


# --- images ---------------------------------------------------------------------------------
def build_images(usher_image, work):
    """The replica images, one per init, from a context made of the host's files (no registry):
    Debian's nginx and the libraries ldd lists, busybox-static as /bin/sh, tini-static."""
    ctx = os.path.join(work, "context")
    root = os.path.join(ctx, "rootfs")
    os.makedirs(root)

    def put(src, dst=None):
        dst = os.path.join(root, (dst or src).lstrip("/"))
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy2(os.path.realpath(src), dst)

    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    put(nginx, "/usr/sbin/nginx")
    ldd = subprocess.run(["ldd", nginx], capture_output=True, text=True, check=True).stdout
    for lib in re.findall(r"(/\S+) \(0x", ldd):   # each library at the path the loader looks for
        put(lib)
    put(shutil.which("busybox"), "/bin/busybox")
    os.symlink("busybox", os.path.join(root, "bin/sh"))
    os.makedirs(os.path.join(root, "etc"), exist_ok=True)
    with open(os.path.join(root, "etc/passwd"), "w") as f:
        f.write("root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n")
    with open(os.path.join(root, "etc/group"), "w") as f:
        f.write("root:x:0:\nnogroup:x:65534:\n")
    os.makedirs(os.path.join(root, "tmp"))
    os.chmod(os.path.join(root, "tmp"), 0o1777)
    os.makedirs(os.path.join(root, "etc/pod"))
    shutil.copy2(os.path.realpath(shutil.which("tini-static")), os.path.join(ctx, "tini-static"))
    shutil.copytree(os.path.join(HERE, "nginx"), os.path.join(ctx, "nginx"))
    for name in ("Dockerfile", "deployment.yaml"):
        shutil.copy2(os.path.join(HERE, name), ctx)
    for key, *_ in SETUPS:
        podman("build", "-q", "--target", key, "--build-arg", f"USHER_IMAGE={usher_image}",
               "-t", IMAGE.format(key), ctx, timeout=600)
    shutil.rmtree(ctx)


def image_argv(image):
    """The image's ENTRYPOINT and CMD."""
    cfg = json.loads(podman("image", "inspect", "--format", "{{json .Config}}", image).stdout)
    return (cfg.get("Entrypoint") or []), (cfg.get("Cmd") or [])


# --- the replicas ---------------------------------------------------------------------------
class Ports:
    def __init__(self, base):
        self.balancer = base
        self.app = {"v1": base + 1, "v2": base + 2}
        self.sidecar = {"v1": base + 11, "v2": base + 12}

    def all(self):
        return [self.balancer, *self.app.values(), *self.sidecar.values()]


def pod_dir(work, ports, version):
    """What a replica mounts at /etc/pod: its addresses and its page (see nginx/*.conf)."""
    d = os.path.join(work, "pod-" + version)
    os.makedirs(os.path.join(d, "www"), exist_ok=True)
    files = {
        "app-listen.conf": f"listen 127.0.0.1:{ports.app[version]};\n",
        "sidecar-server.conf": f"server 127.0.0.1:{ports.sidecar[version]};\n",
        "sidecar-listen.conf": f"listen 127.0.0.1:{ports.sidecar[version]};\n",
        "www/index.html": version + "\n",
    }
    for name, text in files.items():
        with open(os.path.join(d, name), "w") as f:
            f.write(text)
    return d


def http_get(port, timeout=0.5):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.settimeout(timeout)
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data = b""
            while chunk := s.recv(4096):
                data += chunk
            return data
    except OSError:
        return b""


def wait_ready(port, version, name, timeout=30):
    """The readiness check the endpoints controller waits for: the app answers with its page."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data = http_get(port)
        if data.startswith(b"HTTP/1.1 200") and data.rstrip().endswith(version.encode()):
            return time.monotonic()
        if podman("inspect", "--format", "{{.State.Running}}", name, check=False).stdout.strip() != "true":
            break
        time.sleep(0.02)
    logs = podman("logs", name, check=False)
    raise RuntimeError(f"{name} was not ready (it ran {time.monotonic() - deadline + timeout:.1f}s):\n{logs.stdout}{logs.stderr}")


def start_replica(name, image, pod):
    podman("run", "-d", "--name", name, "--network", "host", "--log-driver", "k8s-file",
           "-v", f"{pod}:/etc/pod:ro", image)


# --- the balancer ---------------------------------------------------------------------------
class Balancer:
    """HAProxy from Debian in TCP mode, like kube-proxy: a backend per connection, taken in turn
    (kube-proxy's IPVS default; its iptables and nftables rules draw at random with the same
    share: HAProxy's `random` is a consistent-hash ring, which split 45/55 here), a refused
    connection is not retried anywhere (retries 0, no redispatch), no health check takes a
    failing backend out. Backends join and leave through
    its runtime API (a server in maintenance gets no new connection; those under way go on),
    the one atomic change kube-proxy's iptables-restore makes too."""

    def __init__(self, work, ports):
        self.sock_path = os.path.join(work, "haproxy.sock")
        cfg = os.path.join(work, "haproxy.cfg")
        with open(cfg, "w") as f:
            f.write(f"""global
    stats socket {self.sock_path} mode 600 level admin
    maxconn 4096
defaults
    mode tcp
    timeout connect 2s
    timeout client 10s
    timeout server 10s
    retries 0
listen web
    bind 127.0.0.1:{ports.balancer}
    balance roundrobin
    server v1 127.0.0.1:{ports.app['v1']} disabled
    server v2 127.0.0.1:{ports.app['v2']} disabled
""")
        self.log = open(os.path.join(work, "haproxy.log"), "w")
        self.proc = subprocess.Popen(["haproxy", "-db", "-f", cfg], stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while not os.path.exists(self.sock_path):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("haproxy did not start: " + open(self.log.name).read())
            time.sleep(0.02)

    def command(self, line):
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(self.sock_path)
            s.sendall(line.encode() + b"\n")
            reply = b""
            while chunk := s.recv(4096):
                reply += chunk
        text = reply.decode().strip()
        if text:
            raise RuntimeError(f"haproxy: {line}: {text}")

    def set(self, server, state):
        self.command(f"set server web/{server} state {state}")

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


# --- the container's log ---------------------------------------------------------------------
LOG_LINE = re.compile(r"^(\S+) (stdout|stderr) [FP] (.*)$")
NGINX_LINE = re.compile(r"\[notice\] (\d+)#\d+: (.*)$")


def parse_time(text):
    """RFC 3339 with nanoseconds (conmon's) as seconds since the epoch."""
    m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$", text)
    base = datetime.datetime.fromisoformat(m.group(1) + (m.group(3) if m.group(3) != "Z" else "+00:00"))
    return base.timestamp() + float("0." + (m.group(2) or "0"))


def parse_podman_time(text):
    """podman inspect's `2026-12-02 05:17:19.812450062 +0000 UTC`, or None."""
    m = re.match(r"(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d(?:\.\d+)?) ([+-]\d\d)(\d\d)", text)
    return m and parse_time(f"{m.group(1)}T{m.group(2)}{m.group(3)}:{m.group(4)}")


def nginx_story(lines):
    """From one nginx's log lines [(time, text)]: the signals its master received and when its
    master exited (None: it never logged its exit, so it was killed)."""
    master = None
    for _, text in lines:
        m = NGINX_LINE.search(text)
        if m and m.group(2).startswith("start worker process"):
            master = m.group(1)
            break
    signals, exited = [], None
    for t, text in lines:
        m = NGINX_LINE.search(text)
        if not m or m.group(1) != master:
            continue
        s = re.match(r"signal \d+ \((SIG\w+)\) received", m.group(2))
        if s and s.group(1) != "SIGCHLD":
            signals.append((t, s.group(1)))
        if m.group(2) == "exit":
            exited = t
    return {"signals": signals, "exited": exited}


def replica_story(name):
    """What the container's log (k8s-file: one timestamp per line, with its stream) shows: the
    app logs to stderr, the sidecar to stdout, usher's own lines start with 'usher:'."""
    path = podman("inspect", "--format", "{{.HostConfig.LogConfig.Path}}", name).stdout.strip()
    app, sidecar, usher = [], [], []
    with open(path, errors="replace") as f:
        for raw in f:
            m = LOG_LINE.match(raw.rstrip("\n"))
            if not m:
                continue
            t, stream, text = parse_time(m.group(1)), m.group(2), m.group(3)
            if " usher: " in text[:40]:
                usher.append((t, text))
            elif stream == "stderr":
                app.append((t, text))
            else:
                sidecar.append((t, text))
    finished = podman("inspect", "--format", "{{.State.FinishedAt}}", name).stdout.strip()
    return {"app": nginx_story(app), "sidecar": nginx_story(sidecar),
            "usher": [text for _, text in usher], "finished": finished}


# --- one rollout ----------------------------------------------------------------------------
def sleep_until(t):
    d = t - time.monotonic()
    if d > 0:
        time.sleep(d)


def rollout(setup, rep, args, ports, balancer, work, run_id):
    image = IMAGE.format(setup)
    names = {v: f"usher-rollout-{run_id}-{setup}-{rep}-{v}" for v in ("v1", "v2")}
    pods = {v: pod_dir(work, ports, v) for v in ("v1", "v2")}
    out = os.path.join(work, f"load-{setup}-{rep}.json")
    load = None
    try:
        balancer.set("v1", "maint")
        balancer.set("v2", "maint")
        start_replica(names["v1"], image, pods["v1"])
        wait_ready(ports.app["v1"], "v1", names["v1"])
        balancer.set("v1", "ready")
        load = subprocess.Popen([sys.executable, os.path.join(HERE, "loadgen.py"), "--port", str(ports.balancer),
                                 "--rate", str(args.rate), "--out", out],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = load.stdout.readline().split()
        if not line or line[0] != "started":
            raise RuntimeError("the load generator did not start")
        t_load = float(line[1])
        sleep_until(t_load + 1.0)
        t_v2 = time.monotonic()
        start_replica(names["v2"], image, pods["v2"])
        t_v2_ready = wait_ready(ports.app["v2"], "v2", names["v2"])
        balancer.set("v2", "ready")
        sleep_until(t_v2_ready + 1.0)

        # t0: the old pod is deleted. Its endpoint leaves the balancer after the lag, and its
        # container is stopped now, both from this instant.
        t0, wall0 = time.monotonic(), time.time()
        removed = {}

        def remove_after_lag():
            sleep_until(t0 + args.lag)
            balancer.set("v1", "maint")
            removed["at"] = time.monotonic()

        remover = threading.Thread(target=remove_after_lag)
        remover.start()
        stop = podman("stop", "-t", str(args.grace), names["v1"], check=False, timeout=args.grace + 30)
        t_stopped = time.monotonic()
        remover.join()
        # The same window after t0 for every setup (so the plot compares like with like), longer
        # only when the old replica took longer to stop.
        sleep_until(max(t0 + PLOT_END + 0.2, t_stopped + 1.0, removed["at"] + 1.0))
        load.stdin.write("stop\n")
        load.stdin.flush()
        load.wait(30)
        story = replica_story(names["v1"])
        exit_code = podman("inspect", "--format", "{{.State.ExitCode}}", names["v1"]).stdout.strip()
        balancer.set("v2", "maint")
    finally:
        if load is not None and load.poll() is None:   # a run cut short: its load stops too
            load.kill()
            load.wait()
        for name in names.values():
            podman("rm", "-f", "-t", "0", name, check=False)
    with open(out) as f:
        loaded = json.load(f)
    os.remove(out)
    return summarize(setup, rep, loaded, t0, wall0, t_v2, t_v2_ready, removed["at"], t_stopped,
                     stop.returncode, exit_code, story, args)


BUCKET = 0.1


def per_bucket(records, t0):
    n = int(round((PLOT_END - PLOT_START) / BUCKET))
    answered, failed = [0] * n, [0] * n
    for r in records:
        i = int((r["planned"] - t0 - PLOT_START) // BUCKET)
        if 0 <= i < n:
            (answered if r["outcome"] == "ok" else failed)[i] += 1
    return {"answered": answered, "failed": failed}


def summarize(setup, rep, loaded, t0, wall0, t_v2, t_v2_ready, t_removed, t_stopped, stop_rc, exit_code,
              story, args):
    records = loaded["records"]
    failed = [r for r in records if r["outcome"] != "ok"]
    causes = {}
    for r in failed:
        causes[r["detail"]] = causes.get(r["detail"], 0) + 1

    def rel_wall(t):
        return None if t is None else t - wall0

    app, side = story["app"], story["sidecar"]
    app_signal = app["signals"][0] if app["signals"] else None
    side_signal = side["signals"][0] if side["signals"] else None
    finished_at = parse_podman_time(story["finished"])
    app_exit = app["exited"]
    # A sidecar that never logged its exit was killed with the container: the kernel kills what
    # is left of a pid namespace when its PID 1 exits, so after the app (PID 1, or tini's child).
    side_end = side["exited"]
    if side_end is None:
        side_end = max((t for t in (finished_at, app_exit) if t is not None), default=None)
    outlived = None
    if app_exit is not None and side_end is not None:
        outlived = side_end >= app_exit
    if side_signal is None:
        side_how = "SIGKILL (killed with the container: no stop signal)"
    elif app_exit is not None and side_signal[0] >= app_exit:
        side_how = f"{side_signal[1]} after the app exited"
    else:
        side_how = f"{side_signal[1]} while the app still ran"
    lateness = max(0.0, max(r["sent"] - r["planned"] for r in records)) if records else 0.0
    return {
        "setup": setup, "rep": rep,
        "sent": len(records), "failed": len(failed),
        "answered_by": {v: sum(1 for r in records if r["version"] == v) for v in ("v1", "v2")},
        "failed_per_lag_second": len(failed) / args.lag,
        "causes": causes,
        "stop_s": t_stopped - t0, "podman_stop_status": stop_rc, "exit_code": exit_code,
        "v2_ready_s": t_v2_ready - t_v2, "removed_s": t_removed - t0,
        "app_signal": app_signal and [rel_wall(app_signal[0]), app_signal[1]],
        "app_exit_s": rel_wall(app_exit),
        "sidecar_signal": side_signal and [rel_wall(side_signal[0]), side_signal[1]],
        "sidecar_end_s": rel_wall(side_end),
        "sidecar_outlived": outlived, "sidecar_how": side_how,
        "usher_log": story["usher"],
        "load_lateness_max_s": lateness,
        # For the plot: answered and failed requests per 100 ms, by send time, from PLOT_START
        # after t0; and each failure's send time after t0.
        "per_100ms": per_bucket(records, t0),
        "failed_at": [round(r["planned"] - t0, 3) for r in failed],
    }


# --- the rehearsals -------------------------------------------------------------------------
def rehearse(setup, args, ports, work):
    """`usher rehearse --probe` in the replica's own image, with its own ENTRYPOINT and CMD, the
    probe on the app's port and --probe-for the balancer's lag."""
    image = IMAGE.format(setup)
    entrypoint, cmd = image_argv(image)
    name = f"usher-rollout-rehearse-{setup}-{os.getpid()}"
    argv = [entrypoint[0], "rehearse", "--format", "json", "--probe", f"http://127.0.0.1:{ports.app['v1']}/",
            "--probe-for", f"{args.lag:g}s", *entrypoint[1:]]
    r = podman("run", "--name", name, "--network", "host", "-v", f"{pod_dir(work, ports, 'v1')}:/etc/pod:ro",
               "--entrypoint", json.dumps(argv), image, *cmd, check=False, timeout=120)
    podman("rm", "-f", "-t", "0", name, check=False)
    try:
        report = json.loads(r.stdout)
    except json.JSONDecodeError:
        raise RuntimeError(f"rehearse in {image} printed no report ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    probes = report["runs"][0].get("probes", [])
    return {"passed": bool(report.get("passed")), "status": r.returncode, "argv": argv[1:] + cmd,
            "probes": probes, "report": report}


# --- the outputs ----------------------------------------------------------------------------
def spread(values, fmt="{:.0f}"):
    if not values:
        return "-"
    if len(values) == 1:
        return fmt.format(values[0])
    return (fmt.format(statistics.median(values)) + " (" + fmt.format(min(values)) + "–"
            + fmt.format(max(values)) + ")")


def table(results, rehearsals, args, meta):
    lines = [
        f"{args.runs} run(s) per setup, interleaved; {args.rate:g} requests/s through HAProxy; lag {args.lag:g}s; "
        f"podman stop -t {args.grace}. Commit {meta['commit']}, {meta['cores']} cores, load average "
        f"{meta['load_before']} before, {meta['load_after']} after. "
        f"Median (min–max) where there are several runs."
        + (f" {meta['made_again']} run(s) made again: the balancer's update came after the app's stop signal."
           if meta.get("made_again") else ""),
        "",
        "| setup | requests sent | failed, each run | failed per second of lag | old replica's stop took, s "
        "| app's stop signal, s after t0 | sidecar outlived the app | sidecar stopped by | rehearsal |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for key, label, _, rehearsed_as in SETUPS:
        rs = [r for r in results if r["setup"] == key]
        if not rs:
            continue
        outlived = sum(1 for r in rs if r["sidecar_outlived"])
        hows = sorted(set(r["sidecar_how"] for r in rs))
        reh = rehearsals.get(rehearsed_as)
        verdict = "-" if reh is None else ("PASS" if reh["passed"] else "FAIL")
        if reh is not None and rehearsed_as != key:
            verdict += " (as usher, no preStop)"
        lines.append(
            f"| {label} | {spread([r['sent'] for r in rs])} | {', '.join(str(r['failed']) for r in rs)} "
            f"| {spread([r['failed_per_lag_second'] for r in rs], '{:.1f}')} "
            f"| {spread([r['stop_s'] for r in rs], '{:.2f}')} "
            f"| {spread([r['app_signal'][0] for r in rs if r['app_signal']], '{:.2f}')} | {'yes' if outlived == len(rs) else 'no' if outlived == 0 else 'sometimes'} "
            f"({outlived}/{len(rs)}) | {'; '.join(hows)} | {verdict} |")
    lines += ["", "Rehearsals (`usher rehearse --probe http://127.0.0.1:APP/ --probe-for "
              f"{args.lag:g}s`, in the replica's image):", ""]
    for key, reh in rehearsals.items():
        probe = reh["probes"][0] if reh["probes"] else {}
        summary = ", ".join(f"{k} {v}" for k, v in probe.items() if isinstance(v, (int, float, str)) and k != "url")
        lines.append(f"- {key}: {'PASS' if reh['passed'] else 'FAIL'} (exit {reh['status']}); probe: {summary}")
    return "\n".join(lines) + "\n"


def plot(results, args, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bucket = BUCKET
    lo, hi = PLOT_START, PLOT_END
    n = int(round((hi - lo) / bucket))
    xs = [lo + (i + 0.5) * bucket for i in range(n)]
    fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(10, 6.5), gridspec_kw={"height_ratios": [3, 2]})
    for key, label, *_ in SETUPS:
        rs = [r for r in results if r["setup"] == key]
        if not rs:
            continue
        ok = [sum(r["per_100ms"]["answered"][i] for r in rs) / len(rs) for i in range(n)]
        bad = [sum(r["per_100ms"]["failed"][i] for r in rs) / len(rs) for i in range(n)]
        # The two usher setups with a preStop draw the same line: the -f one dotted, on top.
        style, width = {"usher-pod": (":", 2.4)}.get(key, ("-" if key.startswith("usher") else "--", 1.4))
        top.plot(xs, ok, style, label=label, linewidth=width)
        bottom.plot(xs, bad, style, label=label, linewidth=width)
    for ax in (top, bottom):
        ax.axvline(0, color="grey", linewidth=0.8)
        ax.axvline(args.lag, color="grey", linewidth=0.8, linestyle=":")
        ax.axvline(PRE_STOP, color="grey", linewidth=0.8, linestyle="-.")
        ax.grid(alpha=0.3)
        ax.set_xlim(lo, hi)
    top.set_ylim(0, args.rate * bucket * 1.15)
    bottom.set_ylim(bottom=0)
    for x, text in ((0, "t0: v1 deleted:\npodman stop"), (args.lag, "v1 leaves\nthe balancer"),
                    (PRE_STOP, "usher's preStop\nends: SIGQUIT")):
        top.text(x + 0.05, 0.03, text, fontsize=7, color="dimgrey", va="bottom", transform=top.get_xaxis_transform())
    top.set_ylabel("answered requests per 100 ms")
    bottom.set_ylabel("failed requests per 100 ms")
    bottom.set_xlabel("seconds from the old replica's deletion (t0)")
    top.set_title(f"Rolling update through HAProxy at {args.rate:g} requests/s "
                  f"(mean of {args.runs} run(s) per setup)")
    top.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --- main -----------------------------------------------------------------------------------
def late_removal(r):
    """The balancer dropped v1 only after the app got its stop signal (or no signal was seen)."""
    return r["app_signal"] is None or r["removed_s"] >= r["app_signal"][0]


def port_free(port):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--usher-image", default=os.environ.get("USHER_IMAGE", "localhost/usher:local"))
    p.add_argument("--runs", type=int, default=4, help="repetitions per setup (interleaved)")
    p.add_argument("--rate", type=float, default=200.0, help="requests per second")
    p.add_argument("--lag", type=float, default=2.0, help="seconds before the balancer drops the old replica")
    p.add_argument("--grace", type=int, default=10, help="podman stop -t: terminationGracePeriodSeconds")
    p.add_argument("--port-base", type=int, default=int(os.environ.get("ROLLOUT_PORT_BASE", "28480")))
    p.add_argument("--results", default=os.path.join(HERE, "results"), help="folder for results.{json,md}, rollout.png")
    p.add_argument("--setups", default=",".join(k for k, *_ in SETUPS), help="comma-separated subset")
    p.add_argument("--no-build", action="store_true", help="use the images already built")
    p.add_argument("--no-plot", action="store_true")
    args = p.parse_args()
    chosen = args.setups.split(",")
    unknown = [s for s in chosen if s not in [k for k, *_ in SETUPS]]
    if unknown:
        p.error(f"unknown setup(s): {', '.join(unknown)}")

    ports = Ports(args.port_base)
    busy = [port for port in ports.all() if not port_free(port)]
    if busy:
        sys.exit(f"ports in use on 127.0.0.1: {busy} (another rollout running? set ROLLOUT_PORT_BASE)")
    started = time.monotonic()
    meta = {"load_before": "{:.2f}".format(os.getloadavg()[0]), "lag": args.lag, "rate": args.rate,
            "runs": args.runs, "grace": args.grace, "usher_image": args.usher_image,
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "commit": subprocess.run(["git", "-C", HERE, "rev-parse", "--short", "HEAD"], capture_output=True,
                                     text=True).stdout.strip() or None,
            "cores": os.cpu_count()}
    work = tempfile.mkdtemp(prefix="usher-rollout-")
    os.chmod(work, 0o755)
    run_id = os.urandom(3).hex()
    results, rehearsals, problems, invalid = [], {}, [], []
    must = {k for k, _, m, _ in SETUPS if m}
    balancer = None
    try:
        if not args.no_build:
            log(f"building the replica images from {args.usher_image}")
            build_images(args.usher_image, work)
        balancer = Balancer(work, ports)
        for rep in range(args.runs):
            for key in chosen:
                log(f"run {rep + 1}/{args.runs}: {key}")
                try:
                    r = rollout(key, rep, args, ports, balancer, work, run_id)
                    # A run whose balancer update came after the app's stop signal (this machine
                    # stalled the harness for longer than preStop - lag) measured a longer lag
                    # than it meant to: it is made again, at most twice, and noted.
                    for _ in range(2):
                        if not (key in must and late_removal(r)):
                            break
                        invalid.append({"setup": key, "rep": rep, "removed_s": r["removed_s"],
                                        "app_signal": r["app_signal"], "failed": r["failed"]})
                        log(f"  the balancer's update came at +{r['removed_s']:.2f}s, after the app's stop "
                            "signal: made again")
                        r = rollout(key, rep, args, ports, balancer, work, run_id)
                except Exception as e:   # a run that could not be made is a failure, reported
                    problems.append(f"{key} run {rep + 1}: {e}")
                    log(f"  could not run: {e}")
                    continue
                if key in must and late_removal(r):
                    problems.append(f"{key} run {rep + 1}: three times the balancer's update came after the "
                                    "app's stop signal: this machine cannot run the rollout in time")
                    continue
                results.append(r)
                signal = (f"app's {r['app_signal'][1]} at +{r['app_signal'][0]:.2f}s" if r["app_signal"]
                          else "app: no signal logged")
                log(f"  sent {r['sent']}, failed {r['failed']} {r['causes'] or ''}; stop took {r['stop_s']:.2f}s; "
                    f"{signal}; sidecar: {r['sidecar_how']}")
        for rehearsed in sorted(set(s[3] for s in SETUPS if s[0] in chosen), key=[s[0] for s in SETUPS].index):
            log(f"rehearsal: {rehearsed}")
            try:
                rehearsals[rehearsed] = rehearse(rehearsed, args, ports, work)
                log("  " + ("PASS" if rehearsals[rehearsed]["passed"] else "FAIL"))
            except Exception as e:
                problems.append(f"rehearsal {rehearsed}: {e}")
                log(f"  could not run: {e}")
    finally:
        if balancer:
            balancer.close()
        shutil.rmtree(work, ignore_errors=True)
    meta["load_after"] = "{:.2f}".format(os.getloadavg()[0])
    meta["made_again"] = len(invalid)
    meta["seconds"] = round(time.monotonic() - started, 1)

    os.makedirs(args.results, exist_ok=True)
    with open(os.path.join(args.results, "results.json"), "w") as f:
        json.dump({"meta": meta, "runs": results, "rehearsals": rehearsals, "problems": problems,
                   "made_again": invalid}, f)
    text = table(results, rehearsals, args, meta)
    with open(os.path.join(args.results, "results.md"), "w") as f:
        f.write(text)
    if not args.no_plot and results:
        plot(results, args, os.path.join(args.results, "rollout.png"))
    print(text)

    # The verdict: only what must hold, never a timing. Each run is a check (it must have rolled
    # over from v1 to v2, and a setup with a preStop must have dropped nothing), and so is each
    # rehearsal of such a setup (it must pass); a run that could not be made is a failure.
    checks = []
    for r in results:
        name = f"{r['setup']} run {r['rep'] + 1}"
        if r["answered_by"]["v1"] == 0 or r["answered_by"]["v2"] == 0:
            checks.append((name, f"v1 answered {r['answered_by']['v1']}, v2 {r['answered_by']['v2']}: no rollout"))
        elif r["setup"] in must and r["failed"]:
            checks.append((name, f"dropped {r['failed']} request(s): {r['causes']}"))
        else:
            checks.append((name, None))
    for key in sorted(must & set(rehearsals)):
        checks.append((f"rehearsal of {key}", None if rehearsals[key]["passed"] else f"failed: {rehearsals[key]['probes']}"))
    checks += [(problem, "could not be made") for problem in problems]
    bad = [(n, why) for n, why in checks if why]
    for name, why in bad:
        print(f"FAILED: {name}: {why}")
    print(f"rollout ({meta['seconds']}s): {len(checks) - len(bad)} passed, {len(bad)} failed")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
