"""Memory per gunicorn worker after a mixed load: the issue's target is under 120 MB each.

After the rows, ``measure()`` sends a fixed number of mixed requests (every row's kind of page,
signed in and out, a never-seen search among them) from a few client threads, then reads each
worker's resident set (VmRSS in /proc/<pid>/status; a worker is a child of gunicorn's master).
The workers are never recycled here (no ``max_requests``), so this is what a worker grows to,
not what a recycled one would be.
"""

from __future__ import annotations

import http.client
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote_plus

from bench.load import search_query

HOST = "127.0.0.1"
TARGET_MB = 120
CLIENT_THREADS = 8


@dataclass
class MemoryResult:
    requests: int
    seconds: float
    before_mb: dict[int, float]  # worker pid -> MB, after the rows
    after_mb: dict[int, float]  # worker pid -> MB, after the mixed requests
    bare_mb: dict[int, float]  # the bare Flask workers, for scale
    kinds: Counter = field(default_factory=Counter)  # kind of request -> count
    failure_kinds: Counter = field(default_factory=Counter)  # "503 club (signed in)" -> count

    @property
    def failures(self) -> int:
        return sum(self.failure_kinds.values())

    @property
    def met(self) -> bool:
        return bool(self.after_mb) and max(self.after_mb.values()) < TARGET_MB


def worker_pids(master: int) -> list[int]:
    """The processes whose parent is ``master`` (gunicorn's workers)."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended meanwhile
        if int(fields[1]) == master:
            pids.append(int(stat.parent.name))
    return sorted(pids)


def rss_mb(pid: int) -> float:
    """VmRSS of ``pid`` in MB (MiB, as /proc counts kB of 1,024 bytes)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def workers_rss(master: int) -> dict[int, float]:
    return {pid: rss_mb(pid) for pid in worker_pids(master)}


def _plan(count: int, cookie: str, site, words: list[str], first_serial: int) -> list[tuple[str, str, str]]:
    """``count`` requests as (kind, path, Cookie header), the kinds in turn."""
    rng = random.Random(14)
    kinds = [
        ("hello", lambda: "/bench/hello", False),
        ("/books", lambda: f"/books?page={rng.randint(1, 5)}", False),
        ("/books", lambda: f"/books?page={rng.randint(1, 5)}", True),
        ("club", lambda: f"/clubs/{site.club_slug}", True),
        ("contest", lambda: f"/contests/{site.contest_id}", True),
        ("search", None, False),
        ("search", None, True),
        ("book", lambda: rng.choice(site.book_paths), False),
        ("book", lambda: rng.choice(site.book_paths), True),
    ]
    plan, serial = [], first_serial
    for number in range(count):
        kind, path, signed_in = kinds[number % len(kinds)]
        if path is None:
            url = "/books?q=" + quote_plus(search_query(serial, words))
            serial += 1
        else:
            url = path()
        plan.append((f"{kind} ({'signed in' if signed_in else 'anonymous'})", url, cookie if signed_in else ""))
    return plan


def _client(port: int, plan: list[tuple[str, str, str]], kinds: Counter, failures: Counter) -> None:
    for kind, path, cookie in plan:
        connection = http.client.HTTPConnection(HOST, port, timeout=30)
        try:
            connection.request("GET", path, headers={"Cookie": cookie} if cookie else {})
            response = connection.getresponse()
            response.read()
            outcome = response.status
        except (OSError, http.client.HTTPException) as exc:
            outcome = type(exc).__name__
        finally:
            connection.close()
        kinds[kind] += 1
        if not isinstance(outcome, int) or outcome >= 400:
            failures[f"{outcome} {kind}"] += 1


def measure(
    port: int, master: int, bare_master: int, *, requests: int, cookie: str, site, words: list[str], first_serial: int
) -> MemoryResult:
    """Send ``requests`` mixed requests to the app on ``port``, then read its workers' memory."""
    before = workers_rss(master)
    plan = _plan(requests, cookie, site, words, first_serial)
    counters = [(Counter(), Counter()) for _ in range(CLIENT_THREADS)]
    threads = [
        threading.Thread(target=_client, args=(port, plan[number::CLIENT_THREADS], *counters[number]), daemon=True)
        for number in range(CLIENT_THREADS)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    result = MemoryResult(requests, seconds, before, workers_rss(master), workers_rss(bare_master))
    for kinds, failures in counters:
        result.kinds.update(kinds)
        result.failure_kinds.update(failures)
    return result
