"""A server for the kubelet-parity tests that records every connection and request it gets, so a
test can see what usher's probes and httpGet hooks send and where they connect to. It listens at
once and answers as told (a status, a delay, raw or endless answers); a target that becomes
ready late is the other server, delayed_server.py.

recording_server.py NAME --log FILE --port PORT [--bind ADDR] [--tcp] [--status N] [--delay-ms MS]
                 [--requests FILE]
  --bind: the address to listen on (default 127.0.0.1; 0.0.0.0 for every address).
  --tcp: accept each connection, log it and close it (what a tcpSocket probe needs).
  Otherwise each connection is read as one HTTP request and answered with --status (default 200)
  after --delay-ms (default 0), with Connection: close.
  Events, in the actors' format (NAME EVENT DETAIL MONOTONIC_NS PID), appended to --log:
    start -, listening ADDR:PORT, connect LOCAL_ADDR (the address the connection arrived on),
    request PATH (URL-quoted), answered STATUS; SIGTERM or SIGINT: signal N, exit 0.
  --requests: one JSON object per request, appended: {"path", "local", "peer", "ns",
    "headers": [[name, value], ...] in the order and spelling received}.
  --answers FILE: a JSON object {PATH: ANSWER} for the requests whose path (with its query) is
    PATH, instead of --status: {"raw": TEXT} sends TEXT as it is ({port} in it becomes the port)
    and closes; {"trickle": TEXT} sends TEXT, then a header line every 100 ms until the peer
    goes (headers that never end).
Connections are served on threads, so a slow answer does not hold back the next probe."""
import json
import os
import signal
import socket
import sys
import threading
import time
import urllib.parse


def main():
    args = sys.argv[1:]
    name = args.pop(0)
    opts = {"--bind": "127.0.0.1", "--status": "200", "--delay-ms": "0"}
    tcp = False
    while args:
        a = args.pop(0)
        if a == "--tcp":
            tcp = True
        else:
            opts[a] = args.pop(0)
    log_path = opts["--log"]
    requests_path = opts.get("--requests")
    lock = threading.Lock()

    def log(event, detail):
        line = f"{name} {event} {detail} {time.monotonic_ns()} {os.getpid()}\n".encode()
        with lock:
            fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            os.write(fd, line)
            os.close(fd)

    def record(entry):
        if not requests_path:
            return
        with lock:
            with open(requests_path, "a") as f:
                f.write(json.dumps(entry) + "\n")

    def on_stop(sig, frame):
        log("signal", str(sig))
        log("exit", "0")
        os._exit(0)

    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGINT, on_stop)
    log("start", "-")
    port = int(opts["--port"])
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((opts["--bind"], port))
    server.listen(64)
    log("listening", f"{opts['--bind']}:{port}")
    status, delay = int(opts["--status"]), int(opts["--delay-ms"]) / 1000
    answers = {}
    if "--answers" in opts:
        with open(opts["--answers"]) as f:
            answers = json.load(f)

    def answer(conn, spec):
        try:
            if "raw" in spec:
                conn.sendall(spec["raw"].replace("{port}", str(port)).encode())
                log("answered", "raw")
                return
            conn.sendall(spec["trickle"].encode())
            log("answered", "trickle")
            for _ in range(300):
                time.sleep(0.1)
                conn.sendall(b"X-Slow: 1\r\n")
        except OSError:
            return

    def serve(conn, peer):
        with conn:
            local = conn.getsockname()[0]
            log("connect", local)
            if tcp:
                return
            conn.settimeout(5)
            data = b""
            try:
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(4096)
                    if not chunk:
                        return
                    data += chunk
            except (socket.timeout, OSError):
                return
            head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
            parts = head[0].split(" ")
            path = parts[1] if len(parts) > 1 else "?"
            headers = [[n.strip(), v.strip()] for n, v in (l.split(":", 1) for l in head[1:] if ":" in l)]
            record({"path": path, "local": local, "peer": peer[0], "ns": time.monotonic_ns(), "headers": headers})
            log("request", urllib.parse.quote(path, safe="/?=&"))
            if path in answers:
                answer(conn, answers[path])
                return
            if delay:
                time.sleep(delay)
            try:
                conn.sendall(f"HTTP/1.1 {status} Status\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())
            except OSError:
                return
            log("answered", str(status))

    deadline = time.monotonic() + 120  # never outlive a broken test
    server.settimeout(1)
    while time.monotonic() < deadline:
        try:
            conn, peer = server.accept()
        except socket.timeout:
            continue
        threading.Thread(target=serve, args=(conn, peer), daemon=True).start()


if __name__ == "__main__":
    main()
