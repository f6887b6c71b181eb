"""Book Commerce as several processes on one machine, as it is deployed on several.

PgBouncer (deploy/pgbouncer.ini) in front of PostgreSQL; two app instances (gunicorn.conf.py),
each on its own loopback address and the same port; two RQ workers (`flask jobs worker`, each
with RQ's scheduler: one of them holds its lock and moves due jobs, the other takes over if it
dies); nginx from the real deploy/nginx.conf with an ``upstream`` of both instances. Every
process is started here as a subprocess, in its own process group, and stopped by ``stop()``.

Used by tests/cluster/ (a pytest fixture) and by ``make cluster`` (scripts/cluster.py).
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from tests.cluster import pgbouncer
from tests.deploy_files import SniConnection, render_nginx, self_signed_certificate

ROOT = Path(__file__).resolve().parents[2]
DEPLOY_NGINX = ROOT / "deploy" / "nginx.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
SITE = "bookcommerce.example.com"  # deploy/nginx.conf's server_name
INSTANCE_ADDRESSES = ("127.0.0.2", "127.0.0.3")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def hidden(self, name: str) -> str:
        """The value of the form field ``name`` on this page (a CSRF token, an idempotency key)."""
        found = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', self.text) or re.search(
            rf'<input[^>]*value="([^"]*)"[^>]*name="{name}"', self.text
        )
        if not found:
            raise AssertionError(f"no {name} field on the page ({self.status}):\n{self.text[:1500]}")
        return found.group(1)


@dataclass
class Browser:
    """One reader's cookies, sent to the site through nginx or straight to one instance."""

    cluster: Cluster
    cookies: dict[str, str] = field(default_factory=dict)

    def request(self, method: str, path: str, form: dict | None = None, instance: int | None = None) -> Answer:
        headers = {"Host": self.cluster.site}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if method != "GET":  # Flask-WTF checks that an HTTPS form comes from the site's own page
            headers.update({"Origin": f"https://{self.cluster.site}", "Referer": f"https://{self.cluster.site}{path}"})
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if instance is None:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE  # a throw-away certificate
            conn = SniConnection(
                "127.0.0.1", self.cluster.https_port, context=context, timeout=30, server_name=self.cluster.site
            )
        else:
            # As nginx would reach the instance: it trusts one proxy hop for the client and scheme.
            conn = http.client.HTTPConnection(INSTANCE_ADDRESSES[instance], self.cluster.app_port, timeout=30)
            headers.update({"X-Forwarded-For": "127.0.0.1", "X-Forwarded-Proto": "https"})
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            answer = Answer(response.status, response.msg, response.read())
        finally:
            conn.close()
        for cookie in answer.headers.get_all("Set-Cookie") or []:
            name, _, rest = cookie.partition("=")
            value = rest.split(";", 1)[0]
            if value and "Max-Age=0" not in cookie and "expires=Thu, 01 Jan 1970" not in cookie:
                self.cookies[name.strip()] = value
            else:
                self.cookies.pop(name.strip(), None)
        return answer

    def get(self, path: str, instance: int | None = None) -> Answer:
        return self.request("GET", path, instance=instance)

    def submit(self, page: str, action: str, fields: dict, instance: int | None = None) -> Answer:
        """Open ``page``, fill in its form (the CSRF token comes from the page) and post it to ``action``."""
        form_page = self.get(page, instance=instance)
        assert form_page.status == 200, (page, form_page.status, form_page.text[:500])
        return self.request("POST", action, {"csrf_token": form_page.hidden("csrf_token"), **fields}, instance)

    def log_in(self, email: str, password: str, instance: int | None = None) -> Answer:
        return self.submit("/auth/login", "/auth/login", {"email": email, "password": password}, instance)


@dataclass
class Cluster:
    workdir: Path
    database_url: str  # PostgreSQL itself (postgresql://...)
    redis_url: str
    smtp: tuple[str, int] | None = None
    site: str = SITE
    https_port: int = 0
    http_port: int = 0
    app_port: int = 0
    pgbouncer_port: int = 0
    web_concurrency: int = 2
    base_url: str | None = None  # the address links point to (default: https://site)
    extra_env: dict[str, str] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.https_port = self.https_port or free_port()
        self.http_port = self.http_port or free_port()
        self.pgbouncer_port = self.pgbouncer_port or free_port()
        self.app_port = self.app_port or free_port(INSTANCE_ADDRESSES[0])

    # ---- starting and stopping ------------------------------------------------------------

    def env(self) -> dict[str, str]:
        """The production settings every app process shares, with the database through PgBouncer."""
        env = {
            **os.environ,
            "APP_ENV": "production",
            "FLASK_APP": "wsgi:app",
            "PYTHONPATH": str(ROOT),
            "SECRET_KEY": "cluster-secret-key-shared-by-every-instance-0123456789",
            "DATABASE_URL": pgbouncer.pooled_url(self.database_url, self.pgbouncer_port),
            "DATABASE_PGBOUNCER": "1",
            "REDIS_URL": self.redis_url,
            "MAIL_SERVER": self.smtp[0] if self.smtp else "",
            "MAIL_PORT": str(self.smtp[1]) if self.smtp else "25",
            "OUTBOX_DIR": str(self.workdir / "outbox"),
            "MEDIA_ROOT": str(self.workdir / "media"),
            "STRIPE_SECRET_KEY": "",
            "ALLOW_SIMULATED_PAYMENTS": "1",
            "BASE_URL": self.base_url or f"https://{self.site}",
            "TRUSTED_HOSTS": "",
            "FLASK_DEBUG": "",
            "WEB_CONCURRENCY": str(self.web_concurrency),
            "GUNICORN_MAX_REQUESTS": "0",
            "GUNICORN_LOG_LEVEL": "warning",
            **self.extra_env,
        }
        env.pop("PROXY_COUNT", None)  # gunicorn.conf.py's one proxy hop: nginx
        return env

    def _spawn(self, name: str, args: list[str], env: dict | None = None) -> subprocess.Popen:
        log = open(self.workdir / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.processes[name] = process
        return process

    def log(self, name: str) -> str:
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _wait(self, check, name: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            process = self.processes[name]
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}:\n{self.log(name)[-3000:]}")
            try:
                if check():
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{name} did not start within {timeout}s:\n{self.log(name)[-3000:]}")

    def start(self) -> Cluster:
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "media").mkdir(exist_ok=True)
        self.processes["pgbouncer"] = pgbouncer.start(
            self.workdir / "pgbouncer",
            self.pgbouncer_port,
            _server_of(self.database_url),
            self.workdir / "pgbouncer.log",
        )
        env = self.env()
        for index, address in enumerate(INSTANCE_ADDRESSES):
            self._spawn(
                f"web{index}",
                [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "wsgi:app"],
                {**env, "GUNICORN_BIND": f"{address}:{self.app_port}"},
            )
        flask = str(Path(sys.executable).with_name("flask"))
        for index in range(2):
            self._spawn(f"worker{index}", [flask, "jobs", "worker"], env)
        for index in range(len(INSTANCE_ADDRESSES)):
            self._wait(lambda i=index: self.instance_answers(i), f"web{index}")
        cert, key = self_signed_certificate(self.workdir, self.site)
        upstreams = [f"{address}:{self.app_port}" for address in INSTANCE_ADDRESSES]
        conf = render_nginx(
            self.workdir,
            upstreams,
            self.https_port,
            self.http_port,
            cert,
            key,
            site=self.site,
            # Which instance(s) answered each request: a retried request lists two.
            log_format="$request_method $request_uri $status upstream=[$upstream_addr] [$upstream_status]",
        )
        check = subprocess.run([NGINX, "-t", "-c", str(conf), "-p", str(self.workdir)], capture_output=True)
        if check.returncode != 0:
            raise RuntimeError(check.stderr.decode())
        self._spawn("nginx", [NGINX, "-c", str(conf), "-p", str(self.workdir)])
        self._wait(lambda: Browser(self).get("/healthz").status == 200, "nginx")
        for index in range(2):
            self._wait(lambda i=index: f"worker{i}" in self.workers_listening(), f"worker{index}")
        return self

    def workers_listening(self) -> set[str]:
        return {name for name in ("worker0", "worker1") if "Worker listening" in self.log(name)}

    def instance_answers(self, index: int) -> bool:
        return Browser(self).get("/healthz", instance=index).status == 200

    def kill_instance(self, index: int) -> None:
        """SIGKILL the instance's gunicorn master and workers at once, as a crashed machine would."""
        process = self.processes[f"web{index}"]
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def stop(self) -> None:
        for process in reversed(list(self.processes.values())):
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
        for process in self.processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def nginx_access_log(self) -> list[str]:
        path = self.workdir / "nginx-access.log"
        return path.read_text().splitlines() if path.exists() else []

    def browser(self) -> Browser:
        return Browser(self)

    def flask(self, *args: str) -> subprocess.CompletedProcess:
        """A `flask ...` command on a machine of the cluster (its settings, through PgBouncer)."""
        flask = str(Path(sys.executable).with_name("flask"))
        return subprocess.run([flask, *args], cwd=ROOT, env=self.env(), capture_output=True, text=True, timeout=60)


def _server_of(database_url: str) -> str:
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    return f"{url.host or '127.0.0.1'}:{url.port or 5432}"
