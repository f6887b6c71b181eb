"""Lighthouse on the demo site: `make lighthouse` (not in CI; needs Chromium and `npm ci` here).

Builds the embedded default in a temporary folder (SQLite, the demo seed), serves it with
`flask run`, and audits the home page, /books, a book, a club and a contest with Lighthouse's mobile
settings, signed out and signed in (the session cookie of a real login POST, sent with
--extra-headers). Prints a table of the four category scores; the JSON reports stay in the
temporary folder (printed at the end) with --keep.

    .venv/bin/python tools/lighthouse/run.py [--port 5077] [--keep] [--pages home,books]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
LIGHTHOUSE = HERE / "node_modules" / ".bin" / "lighthouse"
FLASK = Path(sys.executable).with_name("flask")
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
TARGETS = {"performance": 95, "accessibility": 95, "best-practices": 95, "seo": 100}
DEMO_EMAIL = "reader@example.com"


def app_env(instance: Path, base_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "APP_ENV", "MEDIA_ROOT")}
    env.update(INSTANCE_PATH=str(instance), FLASK_APP="wsgi:app", BASE_URL=base_url, PYTHONUNBUFFERED="1")
    return env


def flask(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([str(FLASK), *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"flask {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def wait_for(url: str, server: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit("the app exited before it answered")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    sys.exit(f"the app did not answer at {url}")


def pages_from_sitemap(base_url: str) -> dict[str, str]:
    """Home, /books and the first book, club and contest the sitemap lists."""
    locs = re.findall(r"<loc>([^<]+)</loc>", requests.get(f"{base_url}/sitemap.xml", timeout=10).text)

    def first(pattern: str) -> str:
        return next(loc for loc in locs if re.search(pattern, loc))

    return {
        "home": f"{base_url}/",
        "books": f"{base_url}/books",
        "book": first(r"/books/\d+/"),
        "club": first(r"/clubs/[^/]+$"),
        "contest": first(r"/contests/\d+$"),
    }


def session_cookie(base_url: str, password: str) -> str:
    """The Cookie header of a signed-in reader, from a real login POST."""
    browser = requests.Session()
    form = browser.get(f"{base_url}/auth/login", timeout=10).text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form).group(1)
    response = browser.post(
        f"{base_url}/auth/login",
        data={"email": DEMO_EMAIL, "password": password, "csrf_token": token},
        headers={"Referer": f"{base_url}/auth/login"},
        timeout=10,
    )
    if "Log out" not in response.text:
        sys.exit("could not sign in as the demo reader")
    browser.get(f"{base_url}/", timeout=10)  # shows (and so clears) the welcome message
    return "; ".join(f"{cookie.name}={cookie.value}" for cookie in browser.cookies)


def audit(url: str, report: Path, cookie: str | None) -> dict[str, int]:
    command = [
        str(LIGHTHOUSE),
        url,
        "--quiet",
        "--output=json",
        f"--output-path={report}",
        f"--only-categories={','.join(CATEGORIES)}",
        "--chrome-flags=--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage",
    ]
    if cookie:
        command.append(f"--extra-headers={json.dumps({'Cookie': cookie})}")
    env = {**os.environ, "CHROME_PATH": os.environ.get("CHROME_PATH", "/usr/bin/chromium")}
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0 or not report.exists():
        print(done.stderr[-2000:], file=sys.stderr)
        return {}
    data = json.loads(report.read_text())
    return {name: round((data["categories"][name]["score"] or 0) * 100) for name in CATEGORIES}


def failing_audits(report: Path) -> list[str]:
    """The audits that cost points, for the categories below target."""
    if not report.exists():
        return []
    data = json.loads(report.read_text())
    found = []
    for name in CATEGORIES:
        category = data["categories"][name]
        if round((category["score"] or 0) * 100) >= TARGETS[name]:
            continue
        for ref in category["auditRefs"]:
            result = data["audits"][ref["id"]]
            if ref["weight"] and result["score"] is not None and result["score"] < 0.9:
                found.append(f"{name}: {ref['id']} ({result['score']:.2f}) {result.get('displayValue', '')}".rstrip())
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=5077)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder with the reports")
    parser.add_argument("--pages", default="home,books,book,club,contest")
    args = parser.parse_args()
    if not LIGHTHOUSE.exists():
        sys.exit(f"no {LIGHTHOUSE}: run `npm ci` in {HERE} (or `make lighthouse`)")

    from app.seed import DEMO_PASSWORD

    base_url = f"http://127.0.0.1:{args.port}"
    tmp = Path(tempfile.mkdtemp(prefix="lighthouse-"))
    env = app_env(tmp / "instance", base_url)
    flask(env, "db", "upgrade")
    flask(env, "seed", "demo")
    log = (tmp / "server.log").open("w")
    server = subprocess.Popen(
        [str(FLASK), "run", "--host", "127.0.0.1", "--port", str(args.port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    rows, problems = [], []
    try:
        wait_for(f"{base_url}/healthz", server)
        pages = pages_from_sitemap(base_url)
        cookie = session_cookie(base_url, DEMO_PASSWORD)
        for state, state_cookie in (("signed out", None), ("signed in", cookie)):
            for name in args.pages.split(","):
                report = tmp / f"{name}-{state.replace(' ', '-')}.json"
                scores = audit(pages[name], report, state_cookie)
                rows.append((name, state, pages[name].removeprefix(base_url), scores))
                problems += [f"{name} ({state}) {line}" for line in failing_audits(report)]
                print(f"  audited {name} ({state})", file=sys.stderr)
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()

    header = f"{'page':<8} {'state':<10} {'path':<34} " + " ".join(f"{c[:14]:>14}" for c in CATEGORIES)
    print(header)
    print("-" * len(header))
    for name, state, path, scores in rows:
        cells = " ".join(f"{scores.get(c, '-')!s:>14}" for c in CATEGORIES)
        print(f"{name:<8} {state:<10} {path[:34]:<34} {cells}")
    if problems:
        print("\nBelow target (performance, accessibility, best practices 95; SEO 100):")
        for line in problems:
            print(f"  {line}")
    if args.keep:
        print(f"\nReports: {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
