"""A web app for rehearsal tests: answers GET after `delay` seconds. On SIGTERM it either
drains (stops accepting, answers what it has, exits 0) or is abrupt (exits at once, dropping
the requests in flight).   webapp.py PORT graceful|abrupt [DELAY]"""
import http.server
import os
import signal
import sys
import threading
import time

port, mode = int(sys.argv[1]), sys.argv[2]
delay = float(sys.argv[3]) if len(sys.argv) > 3 else 0.05


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        time.sleep(delay)
        body = b"ok\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
server.daemon_threads = False
server.block_on_close = True


def on_term(sig, frame):
    if mode == "abrupt":
        os._exit(0)
    # Graceful: stop accepting, then let serve_forever return and join the handler threads.
    threading.Thread(target=server.shutdown).start()


signal.signal(signal.SIGTERM, on_term)
server.serve_forever()
server.server_close()  # waits for the requests in flight (block_on_close)
sys.exit(0)
