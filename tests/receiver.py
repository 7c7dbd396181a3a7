#!/usr/bin/env python3
"""The HTTP receiver the tests fire postbacks at. Listens on 127.0.0.1 on
an ephemeral port, writes the port to --port-file once it listens, and
logs every request to --log as one JSON line (time, method, path, headers,
body). The query string chooses the answer:
  status=N        answer with status N (default 200)
  delay=S         wait S seconds first
  retry_after=S   send Retry-After: S
  drop=1          close the connection without answering
  redirect=URL    answer 302 with Location: URL
  fail=N&key=K    answer 503 (or status=) to the first N requests for key
                  K, then 200
"""
import argparse, json, os, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

lock = threading.Lock()
tries = {}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        q = {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}
        with lock:
            log.write(json.dumps({"t": time.time(), "method": self.command, "path": self.path,
                                  "headers": dict(self.headers.items()),
                                  "body": body.decode("utf-8", "replace")}) + "\n")
            log.flush()
            key = q.get("key")
            tries[key] = tries.get(key, 0) + 1
            n = tries[key]
        if "delay" in q:
            time.sleep(float(q["delay"]))
        if q.get("drop"):
            self.close_connection = True
            self.connection.shutdown(2)
            return
        status = int(q.get("status", 200))
        if "fail" in q:
            status = int(q.get("status", 503)) if n <= int(q["fail"]) else 200
        self.send_response(302 if "redirect" in q else status)
        if "redirect" in q:
            self.send_header("Location", q["redirect"])
        if "retry_after" in q:
            self.send_header("Retry-After", q["retry_after"])
        payload = b"ok\n"
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = answer


ap = argparse.ArgumentParser()
ap.add_argument("--log", required=True)
ap.add_argument("--port-file", required=True)
args = ap.parse_args()
log = open(args.log, "a")
class Server(ThreadingHTTPServer):
    request_queue_size = 256    # the default, 5, drops connections under load
    def handle_error(self, request, client_address):
        pass    # a client that hung up early, as pbfire does on purpose


server = Server(("127.0.0.1", 0), Handler)
server.daemon_threads = True
with open(args.port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(args.port_file + ".tmp", args.port_file)
server.serve_forever()
