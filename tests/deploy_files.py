"""The deploy/ files as the tests and `make cluster` run them, their placeholders filled in:
nginx in front of local gunicorns (tests/security/test_nginx.py, tests/cluster) and PgBouncer."""

from __future__ import annotations

import http.client
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEPLOY_NGINX = ROOT / "deploy" / "nginx.conf"


class SniConnection(http.client.HTTPSConnection):
    """HTTPS to 127.0.0.1 that names ``server_name`` in TLS (SNI), as a browser for that site does."""

    def __init__(self, *args, server_name: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.server_name = server_name

    def connect(self) -> None:
        http.client.HTTPConnection.connect(self)
        self.sock = self._context.wrap_socket(self.sock, server_hostname=self.server_name)


def fill_placeholders(text: str, replacements: dict[str, str], source: Path) -> str:
    """``text`` (read from ``source``) with each placeholder replaced; refuses a missing one, so a
    change to the deploy file shows here instead of running something else."""
    for old, new in replacements.items():
        if old not in text:
            raise RuntimeError(f"{source} no longer contains {old!r}: update {__file__} with it")
        text = text.replace(old, new)
    return text


def self_signed_certificate(workdir: Path, site: str) -> tuple[Path, Path]:
    cert, key = workdir / "cert.pem", workdir / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={site}",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def render_nginx(
    workdir: Path,
    upstreams: list[str],
    https_port: int,
    http_port: int,
    cert: Path,
    key: Path,
    *,
    site: str | None = None,
    log_format: str | None = None,
) -> Path:
    """deploy/nginx.conf inside a minimal main config, with only its placeholders filled in: the
    upstream lists ``upstreams`` (host:port), the ports are local ones, and ``site`` (if given)
    replaces the server name. ``log_format``, if given, is the access log's format."""
    servers = "\n    ".join(f"server {address};" for address in upstreams)
    replacements = {
        "server 127.0.0.1:8000;": servers,
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen 80 default_server;": f"listen 127.0.0.1:{http_port} default_server;",
        "listen [::]:80;": "",
        "listen [::]:80 default_server;": "",
        "listen 443 ssl": f"listen 127.0.0.1:{https_port} ssl",
        "listen [::]:443 ssl http2;": "",
        "listen [::]:443 ssl default_server;": "",
        "/etc/ssl/bookcommerce/fullchain.pem": str(cert),
        "/etc/ssl/bookcommerce/privkey.pem": str(key),
        "/srv/bookcommerce/static/": f"{ROOT / 'static'}/",
        "/srv/bookcommerce/media/": f"{workdir / 'media'}/",
        "/var/www/acme": str(workdir / "acme"),
    }
    if site is not None:
        replacements["server_name bookcommerce.example.com;"] = f"server_name {site};"
    server_block = fill_placeholders(DEPLOY_NGINX.read_text(), replacements, DEPLOY_NGINX)
    temp_paths = "\n".join(
        f"    {name}_temp_path {workdir / name};" for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    access_log = f"access_log {workdir / 'nginx-access.log'}"
    if log_format is not None:
        access_log = f"log_format local '{log_format}';\n    {access_log} local"
    path = workdir / "nginx.conf"
    path.write_text(
        f"""{"user root;" if os.geteuid() == 0 else ""}
worker_processes 1;
daemon off;
pid {workdir / "nginx.pid"};
error_log {workdir / "nginx-error.log"} warn;
events {{ worker_connections 512; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    {access_log};
{temp_paths}
{server_block}
}}
"""
    )
    return path
