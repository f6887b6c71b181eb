"""deploy/nginx.conf in front of gunicorn.conf.py, for real: TLS, forwarded headers, static files.

nginx runs the deployment file itself, with only its placeholders filled in (ports, a throw-away
certificate, this checkout's static folder), so a change there that breaks the proxy fails here.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest

from config import Config
from tests.conftest import free_port, need
from tests.deploy_files import SniConnection, render_nginx, self_signed_certificate
from tests.factories import make_books

pytestmark = pytest.mark.nginx

ROOT = Path(__file__).resolve().parents[2]
DEPLOY_CONF = ROOT / "deploy" / "nginx.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
SEARCH_LIMIT = 5
SITE = "bookcommerce.example.com"  # the server_name in deploy/nginx.conf, and BASE_URL's host


def wait_until(check, what: str, process: subprocess.Popen, log: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{what} exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.1)
    pytest.fail(f"{what} did not start in {timeout}s:\n{log.read_text()[-3000:]}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Stack:
    def __init__(self, https_port: int, http_port: int, app_port: int, logs: Path) -> None:
        self.https_port, self.http_port, self.app_port, self.logs = https_port, http_port, app_port, logs

    def request(
        self,
        method: str,
        path: str,
        *,
        tls: bool = True,
        source: str = "127.0.0.1",
        host: str = SITE,
        server_name: str = SITE,
        headers: dict | None = None,
        **kwargs,
    ):
        if tls:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE  # the certificate is made up for this test
            conn = SniConnection(
                "127.0.0.1",
                self.https_port,
                context=context,
                timeout=10,
                source_address=(source, 0),
                server_name=server_name,
            )
        else:
            conn = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=10, source_address=(source, 0))
        try:
            conn.request(method, path, headers={"Host": host, **(headers or {})}, **kwargs)
            response = conn.getresponse()
            response.body = response.read()
            return response
        finally:
            conn.close()

    def direct(self, path: str, headers: dict | None = None, method: str = "GET", body: str | None = None):
        """Straight to gunicorn, as nginx would reach it, without nginx."""
        conn = http.client.HTTPConnection("127.0.0.1", self.app_port, timeout=10)
        try:
            conn.request(method, path, body=body, headers={"Host": SITE, **(headers or {})})
            response = conn.getresponse()
            response.body = response.read()
            return response
        finally:
            conn.close()

    def gunicorn_access_log(self) -> str:
        return (self.logs / "gunicorn-access.log").read_text()

    def wait_for_access_log(self, text: str, timeout: float = 5.0) -> str:
        """The access-log line containing ``text`` (gunicorn writes it just after the response)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [line for line in self.gunicorn_access_log().splitlines() if text in line]
            if found:
                return found[-1]
            time.sleep(0.05)
        raise AssertionError(f"no access-log line with {text!r}:\n{self.gunicorn_access_log()[-2000:]}")


@pytest.fixture(scope="module")
def stack(app, tmp_path_factory):
    need("nginx", bool(shutil.which("nginx") or os.path.exists("/usr/sbin/nginx")), "apt-get install nginx")
    need("openssl", bool(shutil.which("openssl")), "apt-get install openssl")
    tmp = tmp_path_factory.mktemp("nginx")
    https_port, http_port, app_port = free_port(), free_port(), free_port()
    processes: list[subprocess.Popen] = []
    try:
        # gunicorn with the deployment settings, on the test database, one worker (one rate-limit memory,
        # allowed without Redis only on purpose), the simulated gateway allowed on purpose.
        gunicorn_log = tmp / "gunicorn.log"
        env = {
            **os.environ,
            "APP_ENV": "production",
            "SECRET_KEY": "nginx-test-secret-key-0123456789abcdef",
            "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "REDIS_URL": "",
            "MAIL_SERVER": "",
            "OUTBOX_DIR": str(tmp / "outbox"),
            "STRIPE_SECRET_KEY": "",
            "ALLOW_SIMULATED_PAYMENTS": "1",
            "ALLOW_IN_MEMORY_LIMITS": "1",
            "BASE_URL": f"https://{SITE}",
            "TRUSTED_HOSTS": "",
            "FLASK_DEBUG": "",
            "SEARCH_LIMIT_PER_IP": f"{SEARCH_LIMIT} per minute",
            "GUNICORN_BIND": f"127.0.0.1:{app_port}",
            "WEB_CONCURRENCY": "1",
            "GUNICORN_ACCESS_LOG": str(tmp / "gunicorn-access.log"),
            "GUNICORN_ERROR_LOG": str(gunicorn_log),
        }
        env.pop("PROXY_COUNT", None)  # gunicorn.conf.py's default (one proxy) is what is under test
        gunicorn = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        processes.append(gunicorn)

        def gunicorn_up() -> bool:
            conn = http.client.HTTPConnection("127.0.0.1", app_port, timeout=2)
            conn.request("GET", "/", headers={"Host": SITE})
            return conn.getresponse().status == 200

        gunicorn_log.touch()
        wait_until(gunicorn_up, "gunicorn", gunicorn, gunicorn_log)

        cert, key = self_signed_certificate(tmp, "localhost")
        conf = render_nginx(tmp, [f"127.0.0.1:{app_port}"], https_port, http_port, cert, key)
        nginx_log = tmp / "nginx-error.log"
        nginx_log.touch()
        check = subprocess.run([NGINX, "-t", "-c", str(conf), "-p", str(tmp)], capture_output=True)
        assert check.returncode == 0, check.stderr.decode()
        nginx = subprocess.Popen(
            [NGINX, "-c", str(conf), "-p", str(tmp)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        processes.append(nginx)
        result = Stack(https_port, http_port, app_port, tmp)
        result.gunicorn_env = env

        def nginx_up() -> bool:
            return result.request("GET", "/static/css/app.css").status == 200

        wait_until(nginx_up, "nginx", nginx, nginx_log)
        yield result
    finally:
        for process in reversed(processes):
            stop(process)


def test_plain_http_redirects_to_https(stack):
    response = stack.request("GET", "/books?q=austen", tls=False)
    assert response.status == 301
    assert response.getheader("Location") == f"https://{SITE}/books?q=austen"


def test_the_app_sees_https_and_sends_hsts_only_then(app, stack):
    with app.app_context():
        make_books([{"title": "Middlemarch"}, {"title": "Persuasion"}])
    # The client claims plain HTTP; nginx says what it really was.
    response = stack.request("GET", "/api/v1/books?per_page=1", headers={"X-Forwarded-Proto": "http"})
    assert response.status == 200, response.body
    assert response.getheader("Strict-Transport-Security") == "max-age=31536000; includeSubDomains"
    assert response.getheader("Content-Security-Policy", "").startswith("default-src 'self'")
    assert re.search(r"<https://bookcommerce\.example\.com/api/v1/books\?[^>]*page=2", response.getheader("Link", ""))
    assert f'"url":"https://{SITE}/books/'.encode() in response.body.replace(b" ", b"")
    # Without the proxy there is no HTTPS, so no HSTS; links still name the public address.
    plain = stack.direct("/api/v1/books?per_page=1")
    assert plain.status == 200 and plain.getheader("Strict-Transport-Security") is None
    assert f'"url":"https://{SITE}/books/'.encode() in plain.body.replace(b" ", b"")


def test_a_spoofed_forwarded_for_does_not_change_the_client(app, stack):
    """The search limit is per client: forged addresses share the real client's budget."""
    statuses = [
        stack.request("GET", f"/books?q=spoof{i}", headers={"X-Forwarded-For": f"203.0.113.{i}"}).status
        for i in range(SEARCH_LIMIT + 1)
    ]
    assert statuses == [200] * SEARCH_LIMIT + [429]
    # Another real address (127.0.0.2 reaches the same nginx) has its own budget.
    assert stack.request("GET", "/books?q=spoof", source="127.0.0.2").status == 200


def test_static_files_come_from_nginx_with_long_cache_headers(stack):
    path = "/static/vendor/htmx-4.0.1/htmx.min.js"
    response = stack.request("GET", path)
    assert response.status == 200
    assert response.body == (ROOT / "static/vendor/htmx-4.0.1/htmx.min.js").read_bytes()
    assert response.getheader("Cache-Control") == "public, max-age=31536000, immutable"
    assert response.getheader("X-Content-Type-Options") == "nosniff"
    own = stack.request("GET", "/static/js/app.js")
    assert own.status == 200 and "max-age=86400" in own.getheader("Cache-Control")
    stack.request("GET", "/?from=static-test")  # one request that does reach the app
    stack.wait_for_access_log("static-test")
    assert "/static/" not in stack.gunicorn_access_log()


def test_uploaded_covers_come_from_nginx_cached_for_ever(stack):
    cover = stack.logs / "media" / "covers" / "ab" / "ab12-160.jpg"
    cover.parent.mkdir(parents=True, exist_ok=True)
    cover.write_bytes(b"\xff\xd8 a tiny cover")
    response = stack.request("GET", "/media/covers/ab/ab12-160.jpg")
    assert response.status == 200 and response.body == cover.read_bytes()
    assert response.getheader("Cache-Control") == "public, max-age=31536000, immutable"
    assert stack.request("GET", "/media/covers/ab/missing.jpg").status == 404


def test_the_access_log_carries_the_request_id(stack):
    stack.request("GET", "/?from=rid-test")
    line = stack.wait_for_access_log("rid-test")
    assert re.search(r"rid=[0-9a-f]{32}$", line), line
    assert 'fwd="127.0.0.1"' in line


def test_body_size_limit_matches_the_app(stack):
    limit = re.search(r"client_max_body_size (\d+)m;", DEPLOY_CONF.read_text())
    assert limit and int(limit.group(1)) * 1024 * 1024 == Config.MAX_CONTENT_LENGTH
    too_big = stack.request(
        "POST", "/auth/login", body=b"x" * (Config.MAX_CONTENT_LENGTH + 1), headers={"Content-Type": "text/plain"}
    )
    assert too_big.status == 413


def refused_without_an_answer(send) -> bool:
    """True when the connection ends with no HTTP answer at all (nginx's 444, or a refused handshake)."""
    try:
        send()
    except (http.client.RemoteDisconnected, ConnectionResetError, ssl.SSLError):
        return True
    return False


@pytest.mark.parametrize("tls", [True, False])
def test_an_unknown_host_name_gets_no_answer(stack, tls):
    stack.request("GET", "/?from=known-host")
    assert refused_without_an_answer(lambda: stack.request("GET", "/?from=evil-host", tls=tls, host="evil.example"))
    # Over TLS an unknown server name is refused at the handshake, whatever Host follows.
    if tls:
        assert refused_without_an_answer(lambda: stack.request("GET", "/?from=evil-sni", server_name="evil.example"))
    stack.wait_for_access_log("known-host")
    assert "evil-" not in stack.gunicorn_access_log()


def test_the_app_refuses_an_unknown_host_reaching_it_directly(stack):
    page = stack.direct("/", headers={"Host": "evil.example"})
    assert page.status == 400 and b"could not be understood" in page.body
    api = stack.direct("/api/v1/books", headers={"Host": "evil.example"})
    assert api.status == 400 and api.getheader("Content-Type") == "application/problem+json"


def test_a_forwarded_host_does_not_change_the_links(app, stack):
    with app.app_context():
        make_books([{"title": "Emma"}])
    response = stack.request("GET", "/api/v1/books?per_page=1", headers={"X-Forwarded-Host": "evil.example"})
    assert response.status == 200
    assert f'"url":"https://{SITE}/books/'.encode() in response.body.replace(b" ", b"")
    assert b"evil.example" not in response.body


def test_the_container_health_probe_names_the_site(stack):
    """healthcheck.py (Dockerfile, docker-compose.yml) reaches gunicorn with BASE_URL's host as Host."""
    probe = [sys.executable, str(ROOT / "healthcheck.py"), "/healthz"]
    assert subprocess.run(probe, env=stack.gunicorn_env, capture_output=True, timeout=30).returncode == 0
    elsewhere = {**stack.gunicorn_env, "BASE_URL": "https://not-this-site.example"}
    failed = subprocess.run(probe, env=elsewhere, capture_output=True, text=True, timeout=30)
    assert failed.returncode == 1 and "400" in failed.stderr
