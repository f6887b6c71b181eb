"""``make contract``: schemathesis from outside, against a live server as ``make run`` starts it.

Starts the app on a free port with a throwaway instance (SQLite in a temporary folder, unless
DATABASE_URL names a scratch database), seeds the demo data, signs in as the demo reader, runs
``st run`` with every check and the examples, coverage, fuzzing and stateful phases, then stops
the server. The exit status is schemathesis'.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
MAX_EXAMPLES = os.environ.get("CONTRACT_MAX_EXAMPLES", "20")
DEMO = {"email": "reader@example.com", "password": "demo-password-1"}  # app/seed/accounts.py's demo reader
# As in test_contract.py's CONFIG: a country's rules (its postcode shape, a required state) and a
# quote's needs (exactly one of address_id / address, a country the shop ships to) are beyond JSON
# Schema, so a well-formed request to these operations may still get a 422 naming the field.
BEYOND_SCHEMA = """
[[operations]]
include-operation-id = ["addMyAddress", "updateMyAddress", "quoteMyCart"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx", "422"]
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def sign_in(base: str) -> str:
    request = urllib.request.Request(
        f"{base}/api/v1/auth/token", json.dumps(DEMO).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)["access_token"]


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="contract-") as instance:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {**os.environ, "FLASK_APP": "wsgi:app", "BASE_URL": base, "OUTBOX_DIR": f"{instance}/outbox"}
        env.setdefault("DATABASE_URL", f"sqlite:///{instance}/contract.db")
        flask = [str(BIN / "flask")]
        subprocess.run([*flask, "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True)
        subprocess.run([*flask, "seed", "demo"], env=env, cwd=ROOT, check=True, capture_output=True)
        server = subprocess.Popen(
            [*flask, "run", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=open(f"{instance}/server.log", "w"),  # noqa: SIM115 (closed with the folder)
        )
        try:
            wait_for(f"{base}/api/v1/openapi.json")
            config = Path(instance) / "schemathesis.toml"
            config.write_text(BEYOND_SCHEMA)
            command = [
                str(BIN / "st"),
                "--config-file",
                str(config),
                "run",
                f"{base}/api/v1/openapi.json",
                "--header",
                f"Authorization: Bearer {sign_in(base)}",
                "--checks",
                "all",
                "--phases",
                "examples,coverage,fuzzing,stateful",
                "--max-examples",
                MAX_EXAMPLES,
                "--seed",
                "11",
                "--generation-deterministic",
                "--workers",
                "1",
            ]
            hooks = {"SCHEMATHESIS_HOOKS": "tests.api.contract_hooks", "PYTHONPATH": str(ROOT)}
            return subprocess.run(command, env={**env, **hooks}, cwd=ROOT).returncode
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
