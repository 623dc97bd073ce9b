"""A probe's target that becomes ready late: a sidecar for the startup and readiness tests that
listens on 127.0.0.1:PORT only after --after MS, answers only a request with the right path and
headers, and records what happens to it in the actors' event format (NAME EVENT DETAIL
MONOTONIC_NS PID), so that a test can compare when it began to listen, or answered a probe, with
when the next process started. (What a probe or hook sends, and where it connects: the other
server, recording_server.py.)

delayed_server.py NAME --log FILE --port PORT [--after MS] [--http] [--status N]
                [--path PATH] [--header NAME:VALUE]...
  events: start, listening PORT, and with --http: request PATH, then answered STATUS.
  --http: answer each request with --status (default 200) when its path is --path (if given)
  and it carries every --header (name case-insensitive, value exact); else with 404.
  Without --http, a connection is accepted and closed (a tcpSocket probe only connects).
  SIGTERM or SIGINT: logs `signal N` and `exit 0`, then exits 0."""
import os
import signal
import socket
import sys
import time


def main():
    args = sys.argv[1:]
    name = args.pop(0)
    opts = {"--status": "200", "--after": "0"}
    headers = []
    http = False
    while args:
        a = args.pop(0)
        if a == "--http":
            http = True
        elif a == "--header":
            n, v = args.pop(0).split(":", 1)
            headers.append((n.strip().lower(), v.strip()))
        else:
            opts[a] = args.pop(0)
    log_path = opts["--log"]

    def log(event, detail):
        line = f"{name} {event} {detail} {time.monotonic_ns()} {os.getpid()}\n".encode()
        fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.write(fd, line)
        os.close(fd)

    def on_stop(sig, frame):
        log("signal", str(sig))
        log("exit", "0")
        os._exit(0)

    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGINT, on_stop)
    log("start", "-")
    time.sleep(int(opts["--after"]) / 1000)
    port = int(opts["--port"])
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen(16)
    log("listening", str(port))
    deadline = time.monotonic() + 120  # never outlive a broken test
    server.settimeout(1)
    while time.monotonic() < deadline:
        try:
            conn, _ = server.accept()
        except socket.timeout:
            continue
        with conn:
            if http:
                answer(conn, log, int(opts["--status"]), opts.get("--path"), headers)


def answer(conn, log, status, want_path, want_headers):
    conn.settimeout(2)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(4096)
            if not chunk:
                return
            data += chunk
    except socket.timeout:
        return
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    parts = head[0].split(" ")
    path = parts[1] if len(parts) > 1 else "?"
    got = {}
    for line in head[1:]:
        if ":" in line:
            n, v = line.split(":", 1)
            got[n.strip().lower()] = v.strip()
    log("request", path.replace(" ", "%20"))
    ok = (want_path is None or path == want_path) and all(got.get(n) == v for n, v in want_headers)
    code = status if ok else 404
    conn.sendall(f"HTTP/1.1 {code} Status\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())
    log("answered", str(code))


if __name__ == "__main__":
    main()
