"""Where a web worker's memory goes, measured in-process (issue 14: under 120 MB after 10,000 requests).

python -m bench.memory_profile                    # 3 fresh processes, 10,000 mixed requests each
python -m bench.memory_profile --requests 2000 --runs 1 --top 25

Each run is a fresh Python process that reports its resident set (VmRSS) and, for context, its
proportional set (Pss from /proc/self/smaps_rollup) at four points: the bare interpreter, after
``import app``, after ``create_app()`` (what a gunicorn worker holds before its first request) and
after N mixed requests through Flask's test client (/, /books, a page of /books, never-seen searches,
a book page, /clubs, a club, /contests, a contest; half of them signed in as a demo reader). The
figures printed are the median of the runs. A last, separate run (tracemalloc slows Python and
costs memory of its own, so it is never one of the measured runs) lists the biggest Python
allocations after ``create_app()`` by package, then what grew while serving, by source line.

Settings come from the environment, like ``wsgi.py`` (default here: APP_ENV=production, as deployed,
with throwaway SECRET_KEY/BASE_URL and simulated payments). Two changes, both said in the header:
rate limits are off (one client sending 10,000 requests would get 429s) and the page cache is
cleared at the start of each run (so every run starts cold): point REDIS_URL at a scratch database.
The database is DATABASE_URL (migrated and given the demo data here, which is safe to repeat)
or, without it, a fresh SQLite file in a temp directory.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STAGES = ("python", "import app", "create_app()", "after requests")
TARGET_MB = 120


def memory_mb() -> tuple[float, float]:
    """(RSS, PSS) of this process in MiB, as the kernel counts them."""
    rss = pss = float("nan")
    for line in Path("/proc/self/smaps_rollup").read_text().splitlines():
        if line.startswith("Rss:"):
            rss = int(line.split()[1]) / 1024
        elif line.startswith("Pss:"):
            pss = int(line.split()[1]) / 1024
    return rss, pss


# ---- the settings and the data -----------------------------------------------------------------


def default_environment() -> None:
    """Production settings as deployed, with throwaway secrets (setdefault: the caller's win)."""
    os.environ.setdefault("APP_ENV", "production")
    os.environ.setdefault("SECRET_KEY", "memory-profile-only-not-a-secret-0123456789")
    os.environ.setdefault("BASE_URL", "https://books.example.com")
    os.environ.setdefault("ALLOW_SIMULATED_PAYMENTS", "1")
    os.environ.setdefault("LOG_FORMAT", "json")
    os.environ.setdefault("GUNICORN_ACCESS_LOG", "-")
    if not os.environ.get("REDIS_URL"):
        os.environ.setdefault("WEB_CONCURRENCY", "1")
        os.environ.setdefault("ALLOW_IN_MEMORY_LIMITS", "1")


def settings():
    """The environment's settings with rate limits off (see the module docstring)."""
    from config import config_for

    base = config_for()
    return type("MemoryProfileSettings", (base,), {"RATELIMIT_ENABLED": False})


def prepare_database() -> None:
    """Migrate the database and add the demo data (both idempotent)."""
    import logging

    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db
    from app.seed import seed_demo

    app = create_app(settings())
    logging.getLogger("alembic").setLevel(logging.WARNING)
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        seed_demo()
        db.session.remove()


# ---- the requests ------------------------------------------------------------------------------


def site_paths(app) -> dict[str, list[str]]:
    """Pages to visit, found in the database: book pages, club pages, contest pages, title words."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Book, Club, Contest

    with app.app_context():
        books = db.session.execute(select(Book.id, Book.slug, Book.title)).all()
        clubs = db.session.scalars(select(Club.slug)).all()
        contests = db.session.scalars(select(Contest.id)).all()
        db.session.remove()
    words = sorted({word.lower() for *_, title in books for word in re.findall(r"[A-Za-z]{4,}", title)})
    return {
        "book": [f"/books/{book_id}/{slug}" for book_id, slug, _ in books],
        "club": [f"/clubs/{slug}" for slug in clubs],
        "contest": [f"/contests/{contest_id}" for contest_id in contests],
        "word": words or ["book"],
    }


def request_plan(count: int, paths: dict[str, list[str]]) -> list[tuple[str, str, bool]]:
    """``count`` requests as (kind, path, signed in), the kinds in turn; searches are never repeated
    (a word and a serial number), so per-process caches keyed by URL meet new keys all the time."""
    rng = random.Random(14)
    kinds = [
        ("home", lambda n: "/"),
        ("books", lambda n: "/books"),
        ("books page", lambda n: f"/books?page={rng.randint(1, 3)}"),
        ("search", lambda n: f"/books?q={rng.choice(paths['word'])}+{n}"),
        ("search", lambda n: f"/books?q={rng.choice(paths['word'])}"),
        ("book", lambda n: rng.choice(paths["book"])),
        ("clubs", lambda n: "/clubs"),
        ("club", lambda n: rng.choice(paths["club"] or ["/clubs"])),
        ("contests", lambda n: "/contests"),
        ("contest", lambda n: rng.choice(paths["contest"] or ["/contests"])),
    ]
    plan = []
    for number in range(count):
        kind, path = kinds[number % len(kinds)]
        signed_in = (number // len(kinds)) % 2 == 1
        plan.append((kind, path(number), signed_in))
    return plan


def signed_in_client(app):
    """A test client logged in as the demo reader through the real login form."""
    from app.seed import DEMO_PASSWORD

    client = app.test_client()
    base = app.config["BASE_URL"]
    page = client.get("/auth/login", base_url=base).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
        r'name="csrf_token"[^>]*value="([^"]+)"', page
    )
    response = client.post(
        "/auth/login",
        data={"email": "reader@example.com", "password": DEMO_PASSWORD, "csrf_token": token.group(1) if token else ""},
        base_url=base,
        headers={"Referer": base + "/auth/login"},  # Flask-WTF checks the referrer over https
    )
    if response.status_code not in (302, 303):
        raise SystemExit(f"could not sign in as the demo reader: {response.status_code}")
    return client


def serve(app, plan: list[tuple[str, str, bool]]) -> dict[str, int]:
    """Send the plan through the test client; returns a count of answers by status."""
    from collections import Counter

    from app.extensions import cache

    with app.app_context():
        cache.clear()  # every run starts cold
    base = {"base_url": app.config["BASE_URL"]}
    anonymous = app.test_client()
    anonymous.get("/", **base)
    member = signed_in_client(app)
    statuses: Counter = Counter()
    for kind, path, signed_in in plan:
        response = (member if signed_in else anonymous).get(path, **base)
        response.close()
        statuses[f"{response.status_code} {kind}" if response.status_code >= 400 else str(response.status_code)] += 1
    return dict(statuses)


# ---- one run, in a fresh process ---------------------------------------------------------------


def run_once(requests: int) -> dict:
    figures = {"python": memory_mb()}
    import app as app_package  # noqa: F401  (what importing the package alone costs)

    figures["import app"] = memory_mb()
    from app import create_app

    app = create_app(settings())
    figures["create_app()"] = memory_mb()
    plan = request_plan(requests, site_paths(app))
    started = time.perf_counter()
    statuses = serve(app, plan)
    figures["after requests"] = memory_mb()
    return {
        "figures": figures,
        "seconds": time.perf_counter() - started,
        "statuses": statuses,
        "modules": len(sys.modules),
        "database": app.config["SQLALCHEMY_DATABASE_URI"].split(":", 1)[0],
        "cache": app.config["CACHE_TYPE"],
    }


def _package(filename: str) -> str:
    """A readable owner for a source file: the app's module, a site package, or the standard library."""
    if filename.startswith(str(ROOT)):
        return os.path.relpath(filename, ROOT)
    if "site-packages/" in filename:
        return filename.split("site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
    if filename.startswith("<frozen importlib"):
        return "(module code objects: importlib)"
    return "stdlib " + filename.rsplit("/", 1)[-1]


def trace_once(requests: int, top: int) -> dict:
    """Where Python's own allocations are after create_app(), and what grew while serving."""
    import tracemalloc
    from collections import Counter

    tracemalloc.start(25)
    from app import create_app

    app = create_app(settings())
    after_start = tracemalloc.take_snapshot()
    # Attribute each block to the module being imported or built when it was allocated (the
    # innermost frame that belongs to a package file), not to importlib itself.
    by_package: Counter = Counter()
    for trace in after_start.traces:
        owner = None
        for frame in reversed(trace.traceback):  # innermost first
            name = _package(frame.filename)
            if not name.startswith(("(module", "stdlib <frozen")):
                owner = name
                break
        by_package[owner or "(interpreter)"] += trace.size
    plan = request_plan(requests, site_paths(app))
    # Deep tracebacks make serving very slow: trace the requests with one frame, from a clean slate,
    # so the snapshot holds only what the requests allocated and left alive.
    tracemalloc.stop()
    tracemalloc.start(1)
    serve(app, plan)
    growth = tracemalloc.take_snapshot().statistics("lineno")
    return {
        "traced_mb": sum(by_package.values()) / 2**20,
        "by_package": [(name, size / 2**20) for name, size in by_package.most_common(top)],
        "growth": [
            (f"{_package(stat.traceback[0].filename)}:{stat.traceback[0].lineno}", stat.size / 2**20, stat.count)
            for stat in growth[:top]
        ],
    }


# ---- the report --------------------------------------------------------------------------------


def child(args: list[str]) -> dict:
    """Run this module again in a fresh interpreter and read the JSON it prints last."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.memory_profile", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        sys.stderr.write(done.stderr[-4000:])
        raise SystemExit(f"a profiling run failed (exit status {done.returncode})")
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(runs: list[dict], traced: dict | None, requests: int) -> str:
    first = runs[0]
    lines = [
        f"Memory of one web worker, in-process: {len(runs)} fresh process(es), {requests:,} mixed requests each",
        f"APP_ENV={os.environ['APP_ENV']}, database {first['database']}, cache {first['cache'].rsplit('.', 1)[-1]},"
        f" rate limits off, {first['modules']:,} modules loaded at the end, Python {sys.version.split()[0]}",
        "",
        f"{'stage':<16}{'RSS MB (median)':>16}{'runs':>24}{'PSS MB':>10}",
    ]
    for stage in STAGES:
        rss = [run["figures"][stage][0] for run in runs]
        pss = [run["figures"][stage][1] for run in runs]
        label = f"after {requests:,}" if stage == "after requests" else stage
        lines.append(
            f"{label:<16}{statistics.median(rss):>16.1f}{' / '.join(f'{v:.1f}' for v in rss):>24}"
            f"{statistics.median(pss):>10.1f}"
        )
    after = statistics.median(run["figures"]["after requests"][0] for run in runs)
    start = statistics.median(run["figures"]["create_app()"][0] for run in runs)
    lines += [
        "",
        f"growth while serving: {after - start:+.1f} MB; target {TARGET_MB} MB after the requests:"
        f" {'met' if after < TARGET_MB else 'NOT met'}",
        f"requests/s in-process (first run): {requests / first['seconds']:,.0f}; answers: "
        + ", ".join(f"{status} x{count:,}" for status, count in sorted(first["statuses"].items())),
    ]
    if traced:
        lines += [
            "",
            f"Python allocations after create_app(), by where they were made ({traced['traced_mb']:.1f} MB traced):",
        ]
        lines += [f"  {size:7.2f} MB  {name}" for name, size in traced["by_package"]]
        lines += ["", "Still allocated after the requests, made while serving (tracemalloc, by line):"]
        lines += [f"  {size:+7.3f} MB  {count:+7,} blocks  {where}" for where, size, count in traced["growth"]]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.memory_profile", description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--top", type=int, default=20, help="lines of tracemalloc output (0: no traced run)")
    parser.add_argument(
        "--role", choices=["main", "prepare", "measure", "trace"], default="main", help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    default_environment()
    if args.role == "prepare":
        prepare_database()
        print("{}")
    elif args.role == "measure":
        print(json.dumps(run_once(args.requests)))
    elif args.role == "trace":
        print(json.dumps(trace_once(args.requests, args.top)))
    else:
        if not os.environ.get("DATABASE_URL"):
            os.environ["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp(prefix='memory-profile-')}/app.db"
        child(["--role", "prepare"])
        runs = []
        for number in range(1, args.runs + 1):
            runs.append(child(["--role", "measure", "--requests", str(args.requests)]))
            figures = runs[-1]["figures"]
            print(  # progress on stderr: a run takes minutes on a busy machine
                f"run {number}/{args.runs}: "
                + ", ".join(
                    f"{stage} {figures[stage][0]:.1f} MB RSS / {figures[stage][1]:.1f} PSS" for stage in STAGES
                ),
                file=sys.stderr,
                flush=True,
            )
        traced = (
            child(["--role", "trace", "--requests", str(args.requests), "--top", str(args.top)]) if args.top else None
        )
        print(report(runs, traced, args.requests))
    return 0


if __name__ == "__main__":
    sys.exit(main())
