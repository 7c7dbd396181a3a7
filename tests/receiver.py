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
  body=TEXT       answer with the body TEXT (default "ok\n")
  body_bytes=N    answer with N bytes, 0 to 255 over and over: NUL, other
                  control characters and bytes that are not UTF-8
  content_type=T  send Content-Type: T
  stall=S         send the status and headers, then wait S seconds before
                  the body
With --secrets FILE (name=value lines, as pbfire reads them) it checks the
signatures that arrive, with Python's hmac module, written apart from
pbfire's C: a webhook-signature header by the Standard Webhooks rules
(any of the file's whsec_ secrets), and for each --hmac SPEC, a JSON object
{"secret", "algorithm", "encoding", "param" or "header", "message"} whose
message is a Python format string over the query's values, the signature
in that param or header. The log line's "signatures" member says, for
each scheme present, whether it verified.
"""
import argparse, base64, hashlib, hmac, json, os, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

lock = threading.Lock()
tries = {}


def read_secrets(path):
    pairs = []
    for line in open(path, encoding="utf-8").read().split("\n"):
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            pairs.append((name, value))
    return pairs


def webhook_keys():
    keys = []
    for _, value in secrets:
        try:
            keys.append(base64.b64decode(value.removeprefix("whsec_"), validate=True))
        except ValueError:
            pass
    return keys


def standard_webhooks_ok(headers, body):
    msg_id, stamp = headers.get("webhook-id"), headers.get("webhook-timestamp")
    if not msg_id or not stamp or abs(time.time() - int(stamp)) > 300:
        return False
    signed = f"{msg_id}.{stamp}.".encode() + body
    sent = [s.removeprefix("v1,") for s in headers["webhook-signature"].split(" ")]
    for key in webhook_keys():
        want = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
        if any(hmac.compare_digest(want, s) for s in sent):
            return True
    return False


def hmac_ok(spec, q, headers, sent):
    key = next(value for name, value in secrets if name == spec["secret"]).encode()
    message = spec["message"].format(**q).encode()
    mac = hmac.new(key, message, getattr(hashlib, spec["algorithm"])).digest()
    want = base64.b64encode(mac).decode() if spec["encoding"] == "base64" else mac.hex()
    return hmac.compare_digest(want, sent)


def check_signatures(q, headers, body):
    found = {}
    if "webhook-signature" in headers:
        found["standard-webhooks"] = standard_webhooks_ok(headers, body)
    for spec in hmac_specs:
        sent = q.get(spec["param"]) if "param" in spec else headers.get(spec["header"])
        if sent is not None:
            found["hmac"] = hmac_ok(spec, q, headers, sent)
    return found


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # The headers and the body go out in two writes: with Nagle's
    # algorithm the body would wait for the client's delayed ACK, 40 ms
    # a request on a kept-alive connection.
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        q = {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}
        with lock:
            entry = {"t": time.time(), "method": self.command, "path": self.path,
                     "headers": dict(self.headers.items()),
                     "body": body.decode("utf-8", "replace")}
            if secrets:
                entry["signatures"] = check_signatures(q, self.headers, body)
            log.write(json.dumps(entry) + "\n")
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
        if "content_type" in q:
            self.send_header("Content-Type", q["content_type"])
        payload = q.get("body", "ok\n").encode()
        if "body_bytes" in q:
            payload = bytes(i % 256 for i in range(int(q["body_bytes"])))
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if "stall" in q:
            self.wfile.flush()
            time.sleep(float(q["stall"]))
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = answer


ap = argparse.ArgumentParser()
ap.add_argument("--log", required=True)
ap.add_argument("--port-file", required=True)
ap.add_argument("--secrets")
ap.add_argument("--hmac", action="append", default=[], type=json.loads)
args = ap.parse_args()
secrets = read_secrets(args.secrets) if args.secrets else []
hmac_specs = args.hmac
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
