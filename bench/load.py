"""A small closed-loop HTTP load generator: threads with keep-alive connections, one latency per request.

Each client thread sends a request, waits for the whole answer, records how long it took and sends
the next, for a fixed time. gunicorn's sync workers close the connection after every answer, so a
client reconnects when told to and the connect time is part of the latency, as it is for a browser.
Several client processes can share the work when one Python process cannot keep the server busy.
"""

from __future__ import annotations

import http.client
import random
import threading
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context

ERROR_SAMPLES = 5


@dataclass
class Endpoint:
    name: str
    port: int
    paths: list[str]  # each request picks one at random
    note: str = ""  # shown next to the name in the report


@dataclass
class Result:
    name: str
    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)  # seconds, sorted
    error_kinds: Counter = field(default_factory=Counter)  # "503 /books/12/x" -> count

    def add(self, other: Result) -> None:
        """Fold in another measurement of the same endpoint (a later round)."""
        self.requests += other.requests
        self.errors += other.errors
        self.seconds += other.seconds
        self.latencies = sorted(self.latencies + other.latencies)
        self.error_kinds.update(other.error_kinds)

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile_ms(self, percent: float) -> float:
        """The nearest-rank percentile of the latencies, in milliseconds."""
        if not self.latencies:
            return float("nan")
        rank = max(1, -(-len(self.latencies) * percent // 100))
        return self.latencies[int(rank) - 1] * 1000


@dataclass
class _Tally:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    error_kinds: Counter = field(default_factory=Counter)


def _client(host: str, port: int, paths: list[str], deadline: float, seed: int, tally: _Tally) -> None:
    rng = random.Random(seed)
    connection: http.client.HTTPConnection | None = None
    while time.perf_counter() < deadline:
        path = rng.choice(paths)
        started = time.perf_counter()
        try:
            if connection is None:
                connection = http.client.HTTPConnection(host, port, timeout=30)
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            outcome = str(response.status)
            if response.will_close:
                connection.close()
                connection = None
        except (OSError, http.client.HTTPException) as exc:
            outcome = type(exc).__name__
            if connection is not None:
                connection.close()
            connection = None
        tally.latencies.append(time.perf_counter() - started)
        if outcome != "200":
            tally.errors += 1
            tally.error_kinds[f"{outcome} {path}"] += 1
    if connection is not None:
        connection.close()


def _run_threads(host: str, port: int, paths: list[str], seconds: float, threads: int, seed: int) -> tuple:
    """Run ``threads`` clients for ``seconds``; returns (elapsed, latencies, errors, error kinds)."""
    tallies = [_Tally() for _ in range(threads)]
    started = time.perf_counter()
    deadline = started + seconds
    workers = [
        threading.Thread(target=_client, args=(host, port, paths, deadline, seed * 1000 + i, tally), daemon=True)
        for i, tally in enumerate(tallies)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    error_kinds: Counter = Counter()
    for tally in tallies:
        error_kinds.update(tally.error_kinds)
    latencies = [latency for tally in tallies for latency in tally.latencies]
    return elapsed, latencies, sum(t.errors for t in tallies), error_kinds


class LoadGenerator:
    """Drives one endpoint at a time with ``concurrency`` clients spread over ``processes`` processes."""

    def __init__(self, host: str, concurrency: int, processes: int = 1) -> None:
        self.host = host
        self.processes = max(1, min(processes, concurrency))
        self.concurrency = concurrency
        self._pool = (
            ProcessPoolExecutor(self.processes, mp_context=get_context("spawn")) if self.processes > 1 else None
        )
        self._seed = 0

    def __enter__(self) -> LoadGenerator:
        return self

    def __exit__(self, *exc) -> None:
        if self._pool is not None:
            self._pool.shutdown()

    def _threads_per_process(self) -> list[int]:
        share, extra = divmod(self.concurrency, self.processes)
        return [share + (1 if i < extra else 0) for i in range(self.processes)]

    def run(self, endpoint: Endpoint, seconds: float) -> Result:
        """Load ``endpoint`` for ``seconds``; requests/s is the sum over the client processes."""
        self._seed += 1
        jobs = [
            (self.host, endpoint.port, endpoint.paths, seconds, n, self._seed * 100 + i)
            for i, n in enumerate(self._threads_per_process())
        ]
        if self._pool is None:
            parts = [_run_threads(*job) for job in jobs]
        else:
            parts = list(self._pool.map(_run_threads, *zip(*jobs, strict=True)))
        result = Result(endpoint.name)
        per_second = 0.0
        for elapsed, latencies, errors, error_kinds in parts:
            per_second += len(latencies) / elapsed
            result.latencies.extend(latencies)
            result.errors += errors
            result.error_kinds.update(error_kinds)
        result.latencies.sort()
        result.requests = len(result.latencies)
        # Processes start a few milliseconds apart: express the summed rate over one common duration.
        result.seconds = result.requests / per_second if per_second else 0.0
        return result
