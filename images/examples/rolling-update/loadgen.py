#!/usr/bin/env python3
"""The rollout's load generator: HTTP GETs at a steady rate (open loop: request i starts at
start + i/rate, whether or not the earlier ones have answered), each on a new connection, as
clients arriving at a Service do (kube-proxy picks a backend per connection). Every request's
outcome is recorded with its times, so a failure counts where it happened.

Why not wrk or hey (both in Debian): they are closed loops (a worker waits for its answer before
it sends again, so a stalled backend also lowers the rate) and they report failures only as
totals (hey's per-request CSV leaves failed requests out), where this benchmark needs each
failure at its instant. This is Python's own asyncio, nothing else.

    loadgen.py --port 28480 --rate 200 --out results.json
prints `started MONOTONIC` once sending begins, stops on a line `stop` (or end of input) on
stdin, waits for the requests under way, and writes every record to --out.
"""
import argparse
import asyncio
import json
import sys
import threading
import time

OK, REFUSED, CLOSED, RESET, TIMEOUT, BAD_STATUS, OTHER = "ok", "refused", "closed", "reset", "timeout", "status", "error"


async def one(host, port, request, timeout):
    """One request on its own connection: (outcome, detail, version served)."""
    writer = None
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        writer.write(request)
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), timeout)  # the server closes: Connection: close
    except ConnectionRefusedError:
        return REFUSED, "connection refused", None
    except ConnectionResetError:
        return RESET, "connection reset", None
    except asyncio.TimeoutError:
        return TIMEOUT, f"no answer in {timeout}s", None
    except OSError as e:
        return OTHER, str(e), None
    finally:
        if writer is not None:
            writer.close()
    if not data:
        return CLOSED, "connection closed before a response", None
    head, _, body = data.partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0].decode("latin-1")
    parts = status_line.split(" ")
    if len(parts) < 2 or not parts[0].startswith("HTTP/"):
        return OTHER, "not an HTTP response: " + status_line[:60], None
    if parts[1] != "200":
        return BAD_STATUS, "HTTP " + parts[1], None
    length = None
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    if length is not None and len(body) != length:
        return CLOSED, f"response cut after {len(body)} of {length} bytes", None
    return OK, "", body.decode("latin-1").strip()


async def main(args):
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def watch_stdin():
        for line in sys.stdin:
            if line.strip() == "stop":
                break
        loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=watch_stdin, daemon=True).start()
    request = (f"GET {args.path} HTTP/1.1\r\nHost: {args.host}:{args.port}\r\n"
               "User-Agent: rollout-loadgen\r\nConnection: close\r\n\r\n").encode()
    records = []

    async def timed(i, planned):
        sent = time.monotonic()
        outcome, detail, version = await one(args.host, args.port, request, args.timeout)
        records.append({"i": i, "planned": planned, "sent": sent, "ended": time.monotonic(),
                        "outcome": outcome, "detail": detail, "version": version})

    tasks = set()
    start = time.monotonic()
    print(f"started {start:.6f}", flush=True)
    i = 0
    while not stop.is_set() and (args.duration is None or i < args.duration * args.rate):
        planned = start + i / args.rate
        delay = planned - time.monotonic()
        if delay > 0:
            try:
                await asyncio.wait_for(stop.wait(), delay)
                break
            except asyncio.TimeoutError:
                pass
        task = asyncio.create_task(timed(i, planned))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        i += 1
    if tasks:
        await asyncio.wait(set(tasks))
    records.sort(key=lambda r: r["i"])
    with open(args.out, "w") as f:
        json.dump({"start": start, "rate": args.rate, "records": records}, f)
    failed = sum(1 for r in records if r["outcome"] != OK)
    print(f"sent {len(records)} failed {failed}", flush=True)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--path", default="/")
    p.add_argument("--rate", type=float, default=200.0, help="requests per second")
    p.add_argument("--timeout", type=float, default=10.0,
                   help="seconds a request may take (long: a slow machine must not turn into failures)")
    p.add_argument("--duration", type=float, help="stop after this many seconds (default: on `stop`)")
    p.add_argument("--out", required=True)
    asyncio.run(main(p.parse_args()))
