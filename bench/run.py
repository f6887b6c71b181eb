"""``make bench``: the pages against a bare Flask hello-world, then the other measurements.

Sections (BENCH_SECTIONS, comma-separated, default ``all``):

    pages     the rows (bench/pages.py): bare Flask and the app under gunicorn, loaded with wrk,
              each row's req/s as a fraction of bare Flask's; then memory per worker (bench/memory.py)
    import    bench.importing:    flask books import of a generated CSV
    search    bench.search_scale: search over 100,000 books
    mail      bench.mail:         email throughput
    scoring   bench.scoring:      a contest over 1,000 clubs and 1,000,000 donations (PostgreSQL)

Each section is a module with ``run() -> tuple[str, bool]`` (its report, and False if something
failed); a module that does not exist yet is skipped with a note. Each runs in a child process, so
one section's settings cannot leak into the next. The report is printed and written to
bench/results.txt. The exit status is 1 if any request failed or a section said so; a missed
target is printed (NOT met) but does not fail the run. Settings of each section: its docstring.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as ``python bench/run.py``: make ``bench`` and ``app`` importable

RESULTS_PATH = ROOT / "bench" / "results.txt"
BIN = Path(sys.executable).parent  # the venv's python, so its flask and gunicorn
HOST = "127.0.0.1"
SECTIONS = {
    "pages": "bench.pages",
    "import": "bench.importing",
    "search": "bench.search_scale",
    "mail": "bench.mail",
    "scoring": "bench.scoring",
}
ALIASES = {"importing": "import", "search_scale": "search", "rows": "pages", "memory": "pages"}


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---- Helpers shared with bench/loadtest.py and the sections ---------------------------------


def app_env(database_url: str, cache: str = "on") -> dict[str, str]:
    """The environment of an app process in development settings, no Redis, no debug."""
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "FLASK_DEBUG")}
    env.update(
        APP_ENV="development",
        SECRET_KEY="bench-only-not-secret",
        DATABASE_URL=database_url,
        FLASK_APP="wsgi:app",
        BENCH_CACHE=cache,
    )
    return env


def run_step(args: list[str], env: dict[str, str]) -> str:
    """Run one command in the project root; stop the bench with its output if it fails."""
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"bench: {' '.join(args)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return done.stdout.strip()


def prepare_database(env: dict[str, str], reset: bool) -> None:
    if reset:
        say(run_step([str(BIN / "python"), "-m", "bench.database", "reset"], env))
    run_step([str(BIN / "flask"), "db", "upgrade"], env)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)  # graceful: the master stops its workers
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


# ---- The report -----------------------------------------------------------------------------


def describe_commit() -> str:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + (" with uncommitted changes" if git("status", "--porcelain") else "")


def load_average() -> str:
    return "/".join(f"{value:.1f}" for value in os.getloadavg())


def header(started: datetime, load_before: str, load_after: str, sections: list[str]) -> str:
    from bench.load import wrk_path, wrk_version

    wrk = wrk_version() if wrk_path() else "not installed"
    highest = max(float(value) for value in (load_before + "/" + load_after).split("/"))
    busy = " (above the CPU count: other work was running, read the figures with care)"
    busy = busy if highest > (os.cpu_count() or 1) else ""
    return (
        f"Book Commerce benchmark, {started:%Y-%m-%d %H:%M} UTC, commit {describe_commit()}\n"
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, gunicorn {version('gunicorn')}, {wrk}\n"
        f"Load average (1/5/15 min) before: {load_before}, after: {load_after}{busy}\n"
        f"Sections: {', '.join(sections)}\n"
    )


# ---- Sections -------------------------------------------------------------------------------


def selected_sections(value: str | None) -> list[str]:
    """BENCH_SECTIONS as section names, in the order of SECTIONS; ``all`` (or nothing) is every one."""
    names = [ALIASES.get(part.strip().lower(), part.strip().lower()) for part in (value or "all").split(",")]
    names = [name for name in names if name]
    if "all" in names:
        return list(SECTIONS)
    unknown = [name for name in names if name not in SECTIONS]
    if unknown:
        sys.exit(f"bench: unknown BENCH_SECTIONS {', '.join(unknown)}; use all or some of {', '.join(SECTIONS)}")
    return [name for name in SECTIONS if name in names]


def run_section(name: str) -> tuple[str, bool]:
    """Run the section's module (``run() -> (text, ok)``) in a child process; skip it if it is missing."""
    module = SECTIONS[name]
    if importlib.util.find_spec(module) is None:
        return f"{name.capitalize()}: skipped ({module} does not exist yet)\n", True
    say(f"== {name} ({module})")
    with tempfile.TemporaryDirectory(prefix="bench-section-") as folder:
        out = Path(folder) / "section.json"
        done = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--section", module, str(out)],
            cwd=ROOT,
            stdout=sys.stderr,  # progress goes to the terminal; the report comes back in the file
        )
        if not out.exists():
            return f"{name.capitalize()}: FAILED ({module} exited with {done.returncode}, see above)\n", False
        result = json.loads(out.read_text())
    text = result["text"] if result["text"].endswith("\n") else result["text"] + "\n"
    return text, bool(result["ok"]) and done.returncode == 0


def section_child(module: str, out: str) -> int:
    """The child's side of run_section: import, run, write {text, ok}."""
    text, ok = importlib.import_module(module).run()
    Path(out).write_text(json.dumps({"text": text, "ok": bool(ok)}))
    return 0


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "--section":
        return section_child(sys.argv[2], sys.argv[3])
    sections = selected_sections(os.environ.get("BENCH_SECTIONS"))
    started, load_before = datetime.now(UTC), load_average()
    texts, failed = [], []
    for name in sections:
        text, ok = run_section(name)
        texts.append(text)
        if not ok:
            failed.append(name)
    report = header(started, load_before, load_average(), sections) + "".join(f"\n{text}" for text in texts)
    if failed:
        report += f"\nFAILED: {', '.join(failed)} (failed requests or a section that could not finish)\n"
    print(report, end="")
    RESULTS_PATH.write_text(report)
    say(f"Written to {RESULTS_PATH.relative_to(ROOT)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
