"""deploy/pgbouncer.ini, run for real: a PgBouncer in transaction mode for tests, CI and `make cluster`.

The deployment file is rendered with only its placeholders changed (ports, the server, a trust
userlist, files in a temporary folder), so a change there that breaks pooling fails here. PgBouncer
refuses to run as root: when this process is root it runs as ``nobody`` (``-u``).

    python -m tests.cluster.pgbouncer --port 6432 --server 127.0.0.1:5432   # foreground, Ctrl-C stops
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.deploy_files import fill_placeholders

ROOT = Path(__file__).resolve().parents[2]
DEPLOY_INI = ROOT / "deploy" / "pgbouncer.ini"
PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"


def available() -> bool:
    return os.path.exists(PGBOUNCER)


def render(
    workdir: Path, port: int, server: str = "127.0.0.1:5432", user: str = "postgres", log_connections: bool = True
) -> Path:
    """Write pgbouncer.ini (from deploy/pgbouncer.ini) and its userlist into ``workdir``."""
    host, server_port = server.rsplit(":", 1)
    workdir.mkdir(parents=True, exist_ok=True)
    workdir.chmod(0o755)  # readable by the unprivileged user PgBouncer switches to
    userlist = workdir / "userlist.txt"
    userlist.write_text(f'"{user}" ""\n')  # trust: the name must still be listed
    ini = fill_placeholders(
        DEPLOY_INI.read_text(),
        {
            "host=127.0.0.1 port=5432": f"host={host} port={server_port}",
            "listen_port = 6432": f"listen_port = {port}",
            "unix_socket_dir = /var/run/postgresql": "unix_socket_dir =",
            "logfile = /var/log/postgresql/pgbouncer.log": "logfile =",  # stderr, in the foreground
            "pidfile = /var/run/postgresql/pgbouncer.pid": "pidfile =",
            "auth_type = scram-sha-256": "auth_type = trust",  # the local server trusts 127.0.0.1 too
            "/etc/pgbouncer/userlist.txt": str(userlist),
        },
        DEPLOY_INI,
    )
    if not log_connections:  # in the foreground (CI's log): errors only, not a line per connection
        ini += "log_connections = 0\nlog_disconnections = 0\n"
    path = workdir / "pgbouncer.ini"
    path.write_text(ini)
    for file in (path, userlist):
        file.chmod(0o644)
    return path


def command(ini: Path) -> list[str]:
    return [PGBOUNCER, *(["-u", "nobody"] if os.geteuid() == 0 else []), str(ini)]


def wait_until_accepting(port: int, process: subprocess.Popen, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"pgbouncer exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"pgbouncer did not listen on {port} within {timeout}s")


def start(workdir: Path, port: int, server: str = "127.0.0.1:5432", log: Path | None = None) -> subprocess.Popen:
    """PgBouncer in the background, listening once this returns; the caller stops it (SIGTERM)."""
    ini = render(workdir, port, server)
    output = open(log or workdir / "pgbouncer.log", "ab")  # noqa: SIM115 - lives as long as the process
    process = subprocess.Popen(command(ini), stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    wait_until_accepting(port, process)
    return process


def pooled_url(url: str, port: int) -> str:
    """``url`` (postgresql://user@host:5432/db) with PgBouncer's port instead of the server's."""
    from sqlalchemy.engine import make_url

    return make_url(url).set(port=port).render_as_string(hide_password=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=6432)
    parser.add_argument("--server", default="127.0.0.1:5432", help="PostgreSQL's host:port")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="pgbouncer-"))
    process = subprocess.Popen(command(render(workdir, args.port, args.server, log_connections=False)))
    signal.signal(signal.SIGTERM, lambda *_: process.terminate())
    try:
        return process.wait()
    except KeyboardInterrupt:
        process.terminate()
        return process.wait()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
