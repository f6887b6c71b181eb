"""``make security``: bandit over app/, then wapiti3 against a running, logged-in app.

Steps (each one's output lands in reports/, which git ignores):
1. bandit, configured in pyproject.toml, over app/ -> reports/bandit.json.
2. A throw-away instance of the embedded default (SQLite, no Redis, the simulated gateway) in a
   temporary folder: ``flask db upgrade``, ``flask seed demo``, then ``flask run`` on a free port
   with its log (JSON lines) in reports/server.log.
3. Log in as the seeded reader like a browser would (GET the form, POST it with its CSRF token),
   then hand wapiti that session cookie as a fixed header. wapiti replays every form it crawls with
   the hidden ``csrf_token`` the form carried; Flask-WTF's tokens are per session and never expire
   here (``WTF_CSRF_TIME_LIMIT = None``), so its POST attacks reach the views. The log-out URL is
   excluded, so the session lasts the whole scan (checked at the end).
4. The ssrf module's endpoint is a local stand-in (security/endpoint.py): nothing leaves the machine.
5. A summary (reports/security-summary.txt and .json): URLs crawled, requests the server
   answered, POSTs by status, CSRF refusals, findings per module, bandit's figures.

Exit status 1 on any bandit issue of medium or high severity, any wapiti vulnerability or
anomaly of medium or higher level, any open redirect (wapiti files those as low), or a scan that
did not really attack with POST (most POSTs refused as CSRF failures, or none at all).
Stdlib only: it runs under the app's .venv and calls the tools in .venv-security.
"""

import http.cookiejar
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPORTS = ROOT / "reports"
APP_BIN = ROOT / ".venv" / "bin"
TOOLS_BIN = ROOT / os.environ.get("SECURITY_VENV", ".venv-security") / "bin"

READER_EMAIL = "reader@example.com"
READER_PASSWORD = "demo-password-1"  # the seeded demo password (app/seed/accounts.py)
# Bounds that keep the whole target at about 15 minutes on two cores; SCAN_TIME_SCALE=6 multiplies
# every bound for a deeper scan (the default one reaches only a few forms with xss, sql, exec, file).
TIME_SCALE = float(os.environ.get("SCAN_TIME_SCALE", "1"))
CRAWL_SECONDS = 120 * TIME_SCALE
HARD_LIMIT_SECONDS = 1200 * TIME_SCALE  # per wapiti pass, should one hang

MEDIUM = 2
LEVEL_NAMES = {0: "info", 1: "low", 2: "medium", 3: "high", 4: "critical"}
ACCESS_LINE = re.compile(r'"(?P<method>[A-Z]+) (?P<path>\S+) HTTP/[\d.]+" (?P<status>\d{3})')
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_bandit() -> dict:
    """Bandit over app/ with the settings in pyproject.toml; returns its figures."""
    out = REPORTS / "bandit.json"
    subprocess.run(
        [str(TOOLS_BIN / "bandit"), "-c", "pyproject.toml", "-r", "app", "-f", "json", "-o", str(out), "-q"],
        cwd=ROOT,
        check=False,  # it exits 1 when it finds anything; the figures below decide
    )
    report = json.loads(out.read_text())
    totals = report["metrics"]["_totals"]
    issues = report["results"]
    return {
        "version": tool_version("bandit"),
        "lines_scanned": totals["loc"],
        "skipped_by_nosec": totals["nosec"],
        "by_severity": {s: int(totals[f"SEVERITY.{s.upper()}"]) for s in ("low", "medium", "high")},
        "medium_or_high": [
            f"{i['test_id']} {i['filename']}:{i['line_number']} {i['issue_text']}"
            for i in issues
            if i["issue_severity"] in ("MEDIUM", "HIGH")
        ],
        "low": [
            f"{i['test_id']} {i['filename']}:{i['line_number']} {i['issue_text']}"
            for i in issues
            if i["issue_severity"] == "LOW"
        ],
        "errors": report.get("errors", []),
    }


def tool_version(name: str) -> str:
    found = subprocess.run(
        [str(TOOLS_BIN / "python"), "-c", f"import importlib.metadata as m; print(m.version({name!r}))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return found.stdout.strip()


def app_environment(workdir: Path, port: int) -> dict:
    """The embedded default, pointed at a temporary database and outbox."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STRIPE_", "MAIL_", "SENTRY_"))}
    for key in ("REDIS_URL", "DATABASE_URL", "APP_ENV", "FLASK_DEBUG", "METRICS_TOKEN", "ALLOW_SIMULATED_PAYMENTS"):
        env.pop(key, None)
    base_url = f"http://127.0.0.1:{port}"
    env.update(
        FLASK_APP="wsgi:app",
        APP_ENV="development",
        DATABASE_URL=f"sqlite:///{workdir / 'scan.db'}",
        OUTBOX_DIR=str(workdir / "outbox"),
        SECRET_KEY=secrets.token_urlsafe(48),
        BASE_URL=base_url,
        PROXY_COUNT="0",  # reached directly: no proxy headers to believe
        LOG_FORMAT="json",
        # The scan is about what the views do with hostile input; rate limits would answer most
        # attacks with 429 before they reach a view. The limits are proven by tests/security.
        SEARCH_LIMIT_PER_IP="100000 per minute",
        LOGIN_LIMIT_PER_IP="100000 per minute",
        LOGIN_LIMIT_PER_ACCOUNT="100000 per minute",
        REGISTER_LIMIT_PER_IP="100000 per hour",
        RESET_LIMIT_PER_IP="100000 per hour",
    )
    return env


def prepare_instance(env: dict) -> None:
    for args in (["db", "upgrade"], ["seed", "demo"]):
        subprocess.run([str(APP_BIN / "flask"), *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True)


def start_server(env: dict, port: int, log_path: Path) -> subprocess.Popen:
    log = log_path.open("w")
    server = subprocess.Popen(
        [str(APP_BIN / "flask"), "run", "--host", "127.0.0.1", "--port", str(port), "--no-reload", "--no-debugger"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    wait_for(f"http://127.0.0.1:{port}/healthz", server)
    return server


def start_endpoint(port: int, log_path: Path) -> subprocess.Popen:
    endpoint = subprocess.Popen(
        [sys.executable, str(ROOT / "security" / "endpoint.py"), str(port)],
        stdout=log_path.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    wait_for(f"http://127.0.0.1:{port}/get_ssrf.php?session_id=none", endpoint)
    return endpoint


def wait_for(url: str, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"security: {process.args[0]} exited with {process.returncode} before answering")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"security: {url} did not answer within {seconds:.0f} s")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def hidden_token(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', html
    )
    if not match:
        raise SystemExit("security: no csrf_token field on the log-in form")
    return match.group(1)


def log_in(base: str) -> tuple[str, str]:
    """Log in as the seeded reader; returns the session cookie and the page's CSRF header token."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(f"{base}/auth/login") as response:
        token = hidden_token(response.read().decode())
    form = urllib.parse.urlencode({"email": READER_EMAIL, "password": READER_PASSWORD, "csrf_token": token})
    with opener.open(f"{base}/auth/login", data=form.encode()) as response:
        response.read()
    # A page after log-in: the session now holds the raw CSRF token every later form is signed from.
    with opener.open(f"{base}/account") as response:
        if response.url.rstrip("/") != f"{base}/account":
            raise SystemExit(f"security: log-in as {READER_EMAIL} failed (sent to {response.url})")
        page = response.read().decode()
    header_token = re.search(r'"X-CSRFToken": "([^"]+)"', page)
    session = next((c.value for c in jar if c.name == "session"), None)
    if not session or not header_token:
        raise SystemExit("security: no session cookie or CSRF token after log-in")
    return session, header_token.group(1)


# Four passes over one crawl, each module bounded in time (seconds per module). wapiti attacks a
# module's links (GET) before its forms (POST), and the catalogue's many search URLs would use up
# every module's time before a form was reached; so the forms, where stored XSS starts, come first.
# "-xss:get" switches a module's GET attacks off ("xss:post" does the opposite of what it says in
# wapiti 3.2.3: a method named after a module is switched off).
PASSES = (
    ("forms-xss", "xss,-xss:get,permanentxss", 120),  # this pass crawls; permanentxss looks for stored payloads
    ("forms-injection", "sql,-sql:get,exec,-exec:get,file,-file:get", 50),
    ("both", "redirect,csrf,crlf,ssrf", 40),
    ("links", "xss,-xss:post,sql,-sql:post,exec,-exec:post,file,-file:post", 40),
)
MODULES = "xss,sql,exec,file,redirect,csrf,permanentxss,crlf,ssrf"


def run_wapiti(base: str, endpoint: str, session: str, csrf_header: str, workdir: Path) -> float:
    started = time.monotonic()
    commands = []
    for name, modules, seconds in PASSES:
        command = [
            str(TOOLS_BIN / "wapiti"),
            "-u", f"{base}/",
            "--scope", "folder",  # the root folder of this host and port: the app and nothing else
            "-m", modules,
            # A fixed Cookie header: httpx then leaves its cookie jar out, so one session lasts the whole
            # scan (--drop-set-cookie would not do: it deletes every request's Cookie header, this one too).
            "-C", f"session={session}",
            # What htmx sends on every request of a real session (hx-headers on <body>); forms also
            # carry their hidden csrf_token, which Flask-WTF reads first.
            "-H", f"X-CSRFToken: {csrf_header}",
            "--skip", "csrf_token",  # mutating the token only tests Flask-WTF; the csrf module does that
            "-x", f"{base}/auth/logout",
            "-x", f"{base}/api/v1/auth/logout",
            "-x", f"{base}/static/*",
            "-S", "sneaky",  # few crawled variants of one URL pattern (the catalogue's filters and pages)
            "--endpoint", endpoint,
            "--max-scan-time", str(CRAWL_SECONDS),
            "--max-attack-time", str(seconds * TIME_SCALE),
            "--tasks", "4",
            "-t", "20",
            "--store-session", str(workdir / "wapiti-session"),
            "--store-config", str(workdir / "wapiti-config"),
            "--no-bugreport",  # never upload crash reports
            "-dr", "1",
            "-v", "1",
            "--log", str(REPORTS / f"wapiti-{name}.log"),
            "-f", "json",
            "-o", str(REPORTS / ("wapiti.json" if name == PASSES[-1][0] else f"wapiti-{name}.json")),
        ]  # fmt: skip
        # The first pass starts afresh and crawls; the others attack what it crawled. The last one's
        # report holds every finding of all passes (they share the session store).
        command.append("--flush-session" if name == PASSES[0][0] else "--skip-crawl")
        (REPORTS / f"wapiti-{name}.log").unlink(missing_ok=True)
        commands.append(" ".join("<redacted>" if session in a or csrf_header in a else a for a in command))
        subprocess.run(command, cwd=workdir, check=True, timeout=HARD_LIMIT_SECONDS, stdout=subprocess.DEVNULL)
    (REPORTS / "wapiti-command.txt").write_text("\n".join(commands) + "\n")
    return time.monotonic() - started


ATTACKED = re.compile(r"load_and_attack:\d+ - \[\+\] (GET|POST) (\S+)")
LAUNCHED = re.compile(r"Launching module (\w+)")


def coverage() -> dict:
    """What each module attacked, from wapiti's logs: originals by method and the POST paths."""
    attacked: dict[str, Counter] = defaultdict(Counter)
    post_paths: dict[str, set] = defaultdict(set)
    for name, _modules, _seconds in PASSES:
        module = None
        for line in (REPORTS / f"wapiti-{name}.log").read_text(errors="replace").splitlines():
            if launched := LAUNCHED.search(line):
                module = launched.group(1)
            elif module and (match := ATTACKED.search(line)):
                attacked[module][match.group(1)] += 1
                if match.group(1) == "POST":
                    post_paths[module].add(re.sub(r"/\d+", "/N", urllib.parse.urlsplit(match.group(2)).path))
    return {m: {"requests": dict(attacked[m]), "post_paths": sorted(post_paths[m])} for m in sorted(attacked)}


def server_figures(log_path: Path, skip_bytes: int) -> dict:
    """Requests the app answered during the scan, POSTs by status, and CSRF refusals."""
    statuses: Counter = Counter()
    post_statuses: Counter = Counter()
    post_paths: dict[str, Counter] = defaultdict(Counter)
    csrf_refusals = Counter()
    errors = []
    with log_path.open("rb") as log:
        log.seek(skip_bytes)
        for raw in log:
            line = raw.decode("utf-8", "replace")
            try:
                record = json.loads(line)
            except ValueError:
                continue
            logger, message = record.get("logger"), ANSI.sub("", str(record.get("message", "")))
            if logger == "flask_wtf.csrf":
                csrf_refusals[message] += 1
            elif logger == "werkzeug" and (match := ACCESS_LINE.search(message)):
                status = int(match["status"])
                statuses[status] += 1
                if match["method"] == "POST":
                    post_statuses[status] += 1
                    post_paths[urllib.parse.urlsplit(match["path"]).path][status] += 1
            elif record.get("level") in ("ERROR", "CRITICAL"):
                errors.append(message[:300])
    return {
        "requests": sum(statuses.values()),
        "by_status": dict(sorted(statuses.items())),
        "posts": sum(post_statuses.values()),
        "posts_by_status": dict(sorted(post_statuses.items())),
        "post_paths": {p: dict(sorted(c.items())) for p, c in sorted(post_paths.items())},
        "csrf_refusals": dict(csrf_refusals),
        "server_errors_logged": errors[:50],
    }


def wapiti_figures(report_path: Path) -> dict:
    report = json.loads(report_path.read_text())
    findings = []
    for kind in ("vulnerabilities", "anomalies"):
        for category, items in report.get(kind, {}).items():
            for item in items:
                findings.append(
                    {
                        "kind": {"vulnerabilities": "vulnerability", "anomalies": "anomaly"}[kind],
                        "category": category,
                        "module": item.get("module"),
                        "level": item.get("level", 0),
                        "method": item.get("method"),
                        "path": item.get("path"),
                        "parameter": item.get("parameter"),
                        "info": item.get("info"),
                        "request": item.get("http_request"),
                    }
                )
    per_module: dict[str, Counter] = {m: Counter() for m in MODULES.split(",")}
    for finding in findings:
        per_module.setdefault(finding["module"], Counter())[LEVEL_NAMES.get(finding["level"], "?")] += 1
    infos = report.get("infos", {})
    return {
        "version": infos.get("version"),
        "crawled_pages": infos.get("crawled_pages_nbr"),
        "findings": findings,
        "per_module": {m: dict(c) for m, c in per_module.items()},
    }


def failing(findings: list[dict]) -> list[dict]:
    return [f for f in findings if f["level"] >= MEDIUM or (f["kind"] == "vulnerability" and f["module"] == "redirect")]


def write_summary(summary: dict) -> str:
    (REPORTS / "security-summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    bandit, wapiti, server = summary["bandit"], summary["wapiti"], summary["server"]
    lines = [
        f"make security, {summary['date']}",
        f"bandit {bandit['version']}: {bandit['lines_scanned']} lines of app/, "
        f"issues by severity {bandit['by_severity']}, {bandit['skipped_by_nosec']} skipped by nosec",
        *[f"  MEDIUM+ {issue}" for issue in bandit["medium_or_high"]],
        *[f"  low     {issue}" for issue in bandit["low"]],
        f"wapiti {wapiti['version']}: {wapiti['crawled_pages']} URLs crawled, {server['requests']} requests answered "
        f"in {summary['scan_seconds']:.0f} s; modules {MODULES}",
        f"  responses by status: {server['by_status']}",
        f"  POSTs: {server['posts']}, by status {server['posts_by_status']}; CSRF refusals {server['csrf_refusals']}",
        *[
            f"  {m}: attacked {c['requests']}" + (f", forms {', '.join(c['post_paths'])}" if c["post_paths"] else "")
            for m, c in wapiti["coverage"].items()
        ],
        "  findings per module: "
        + ", ".join(f"{m} {sum(c.values())}" + (f" {c}" if c else "") for m, c in wapiti["per_module"].items()),
        *[
            f"  {LEVEL_NAMES.get(f['level'])} {f['kind']} [{f['module']}] {f['category']}: {f['method']} {f['path']} "
            f"parameter {f['parameter']!r}: {f['info']}"
            for f in wapiti["findings"]
        ],
        *[f"  problem: {p}" for p in summary["problems"]],
        "result: " + ("FAIL" if summary["problems"] else "pass"),
    ]
    text = "\n".join(lines) + "\n"
    (REPORTS / "security-summary.txt").write_text(text)
    return text


def main() -> int:
    # Stopped from outside (Ctrl-C, SIGTERM, a CPU limit): still stop the server and the endpoint.
    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGXCPU):
        signal.signal(signum, lambda number, _frame: sys.exit(f"security: stopped by signal {number}"))
    REPORTS.mkdir(exist_ok=True)
    date = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    bandit = run_bandit()
    workdir = Path(tempfile.mkdtemp(prefix="bc-security-"))
    port, endpoint_port = free_port(), free_port()
    base, endpoint_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{endpoint_port}/"
    env = app_environment(workdir, port)
    server = endpoint = None
    try:
        prepare_instance(env)
        server_log = REPORTS / "server.log"
        server = start_server(env, port, server_log)
        endpoint = start_endpoint(endpoint_port, REPORTS / "ssrf-endpoint.log")
        session, csrf_header = log_in(base)
        scan_starts_at = server_log.stat().st_size
        scan_seconds = run_wapiti(base, endpoint_url, session, csrf_header, workdir)
        # The session must have survived the scan (log-out excluded, the cookie never replaced).
        request = urllib.request.Request(f"{base}/account", headers={"Cookie": f"session={session}"})
        with urllib.request.urlopen(request) as response:
            session_survived = response.url.rstrip("/") == f"{base}/account"
        time.sleep(1)
        server_stats = server_figures(server_log, scan_starts_at)
    finally:
        for process in (endpoint, server):
            if process is not None:
                stop(process)
        shutil.rmtree(workdir, ignore_errors=True)

    wapiti = wapiti_figures(REPORTS / "wapiti.json")
    wapiti["coverage"] = coverage()
    problems = [f"bandit {issue}" for issue in bandit["medium_or_high"]]
    problems += [
        f"wapiti {f['module']} {f['category']} at {f['method']} {f['path']} parameter {f['parameter']!r}"
        for f in failing(wapiti["findings"])
    ]
    csrf_refused = sum(server_stats["csrf_refusals"].values())
    if server_stats["posts"] == 0 or csrf_refused * 2 > server_stats["posts"]:
        problems.append(
            f"POST attacks did not reach the views ({csrf_refused} of {server_stats['posts']} refused as CSRF)"
        )
    if not session_survived:
        problems.append("the reader's session did not survive the scan: later attacks ran logged out")
    summary = {
        "date": date,
        "scan_seconds": scan_seconds,
        "bandit": bandit,
        "wapiti": wapiti,
        "server": server_stats,
        "session_survived": session_survived,
        "problems": problems,
    }
    print(write_summary(summary), end="")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
