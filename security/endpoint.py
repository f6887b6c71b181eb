"""A local stand-in for wapiti's SSRF endpoint, so the ssrf module talks to nothing off this machine.

wapiti's ssrf module injects ``<endpoint>ssrf/<session>/<path_id>/<hex_param>/`` into every
parameter, then asks ``<endpoint>get_ssrf.php?session_id=<session>`` which of those URLs the
target fetched. This server records every hit on an ``ssrf/`` URL and answers the question in the
JSON shape the module reads: ``{path_id: {hex_param: [{url, date, ip, method, size}]}}``.
Anything else (XSS payloads that load a script from the endpoint) gets an empty 404.

Run: ``python security/endpoint.py PORT`` (stdlib only).
"""

import json
import sys
import threading
from collections import defaultdict
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

HITS: dict[str, dict[str, dict[str, list[dict]]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    def _answer(self, status: int, body: bytes = b"", content_type: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        segments = [s for s in parts.path.split("/") if s]
        if segments[:1] == ["get_ssrf.php"]:
            session = parse_qs(parts.query).get("session_id", [""])[0]
            with LOCK:
                found = json.loads(json.dumps(HITS.get(session, {})))
            self._answer(200, json.dumps(found).encode(), "application/json")
            return
        if len(segments) >= 4 and segments[0] == "ssrf":
            session, path_id, hex_param = segments[1:4]
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            hit = {
                "url": self.path,
                "date": datetime.now(UTC).isoformat(),
                "ip": self.client_address[0],
                "method": self.command,
                "size": length,
            }
            with LOCK:
                HITS[session][path_id][hex_param].append(hit)
            print(f"SSRF HIT {self.command} {self.path} from {self.client_address[0]}", flush=True)
            self._answer(200, b"ok")
            return
        self._answer(404)

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _handle

    def log_message(self, format: str, *args) -> None:
        sys.stderr.write("endpoint: " + format % args + "\n")


def main() -> None:
    port = int(sys.argv[1])
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print(f"ssrf endpoint on http://127.0.0.1:{port}/", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
