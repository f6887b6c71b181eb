"""Container health probe: ``python healthcheck.py /readyz`` (default /healthz).

Asks the app on 127.0.0.1 (at GUNICORN_BIND's port, default 8000) for the path with BASE_URL's host
name as Host, since the app answers only to TRUSTED_HOSTS. Standard library only; exit status 0 when the answer is 200.
"""

import os
import sys
import urllib.request
from urllib.parse import urlsplit

path = sys.argv[1] if len(sys.argv) > 1 else "/healthz"
port = (os.environ.get("GUNICORN_BIND") or ":8000").rsplit(":", 1)[-1]
host = urlsplit(os.environ.get("BASE_URL") or "http://127.0.0.1").netloc
request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Host": host})
try:
    with urllib.request.urlopen(request, timeout=4) as response:
        sys.exit(0 if response.status == 200 else 1)
except OSError as exc:  # refused, timed out, or an HTTP error status
    sys.exit(f"unhealthy: {path}: {exc}")
