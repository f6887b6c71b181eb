"""The load: wrk runs (one per row and round) and what they measured, merged over the rounds.

wrk (Debian package ``wrk``) drives each row with a fixed number of connections for a fixed time;
a Lua script in bench/wrk/ builds the requests and its ``done()`` prints the run as one JSON line
(``BENCH-JSON {...}``): completed requests, duration, errors by kind (connect, read, write,
timeout, and ``status`` for answers of 400 and above) and 1,000 latency quantiles, so that the
rounds of a row merge into one latency distribution.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

WRK_SCRIPTS = Path(__file__).resolve().parent / "wrk"
JSON_MARKER = "BENCH-JSON "
ERROR_KINDS = ("connect", "read", "write", "timeout", "status")
QUANTILES = 1000  # the quantiles done() prints: percentiles (i + 0.5) / 10 for i in 0..999
# search.lua's multiplier: a prime larger than the word list, so serial -> query is one-to-one.
SEARCH_MULTIPLIER = 7919


def wrk_path() -> str | None:
    return shutil.which("wrk")


def wrk_version() -> str:
    """``wrk -v`` prints its version and usage and exits 1: keep the first words."""
    done = subprocess.run([wrk_path() or "wrk", "-v"], capture_output=True, text=True)
    first = (done.stdout or done.stderr).splitlines()[0] if (done.stdout or done.stderr) else "unknown"
    return first.split(" Copyright")[0].strip()


@dataclass
class WrkRun:
    """One wrk run, as its done() reported it."""

    requests: int
    seconds: float
    errors: dict[str, int]
    quantiles_us: list[float]

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


def parse_wrk_output(output: str) -> WrkRun:
    """Read the ``BENCH-JSON`` line that bench/wrk/common.lua's done() prints."""
    for line in output.splitlines():
        if line.startswith(JSON_MARKER):
            data = json.loads(line[len(JSON_MARKER) :])
            return WrkRun(
                requests=int(data["requests"]),
                seconds=data["duration_us"] / 1e6,
                errors={kind: int(data["errors"].get(kind, 0)) for kind in ERROR_KINDS},
                quantiles_us=[float(value) for value in data["quantiles_us"]],
            )
    raise ValueError(f"no {JSON_MARKER.strip()} line in wrk's output:\n{output[-2000:]}")


@dataclass
class RowResult:
    """Every measured run of one row (the warm-up is not kept)."""

    runs: list[WrkRun] = field(default_factory=list)

    def add(self, run: WrkRun) -> None:
        self.runs.append(run)

    @property
    def requests(self) -> int:
        return sum(run.requests for run in self.runs)

    @property
    def seconds(self) -> float:
        return sum(run.seconds for run in self.runs)

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def errors(self) -> dict[str, int]:
        return {kind: sum(run.errors[kind] for run in self.runs) for kind in ERROR_KINDS}

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def percentile_ms(self, percent: float) -> float:
        """The latency percentile of all the runs together: each run's quantiles weighted by its requests."""
        points = sorted(
            (value, run.requests / len(run.quantiles_us))
            for run in self.runs
            if run.requests and run.quantiles_us
            for value in run.quantiles_us
        )
        total = sum(weight for _, weight in points)
        if not total:
            return float("nan")
        wanted, seen = total * percent / 100, 0.0
        for value, weight in points:
            seen += weight
            if seen >= wanted - 1e-9:
                return value / 1000
        return points[-1][0] / 1000


def run_wrk(
    url: str,
    seconds: float,
    *,
    connections: int,
    threads: int,
    script: str = "fixed.lua",
    script_args: list[str] | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 5.0,
) -> WrkRun:
    """Load ``url`` for ``seconds`` (wrk takes whole seconds) and return what wrk's done() printed."""
    args = [wrk_path() or "wrk", "-c", str(connections), "-t", str(threads), "-d", f"{max(1, round(seconds))}s"]
    args += ["--timeout", f"{max(1, round(timeout))}s", "-s", str(WRK_SCRIPTS / script)]
    for name, value in (headers or {}).items():
        args += ["-H", f"{name}: {value}"]
    args.append(url)
    if script_args:
        args += ["--", *script_args]
    done = subprocess.run(args, capture_output=True, text=True, timeout=seconds + 60)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} exited with {done.returncode}:\n{done.stdout}{done.stderr}")
    return parse_wrk_output(done.stdout)


def search_words(text_words: list[list[str]]) -> list[str]:
    """The catalogue's words, lower case and letters only, each once, in a fixed order."""
    return sorted({word.lower() for words in text_words for word in words if re.fullmatch(r"[A-Za-z]+", word)})


def search_query(serial: int, words: list[str], multiplier: int = SEARCH_MULTIPLIER) -> str:
    """The query search.lua sends for ``serial`` (the same arithmetic): three words of ``words``."""
    count = len(words)
    mixed = (serial * multiplier) % count**3
    return " ".join((words[mixed % count], words[mixed // count % count], words[mixed // count**2]))
