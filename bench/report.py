"""The text of the pages section: the rows against bare Flask, their targets, errors and memory."""

from __future__ import annotations

from bench.load import RowResult
from bench.memory import TARGET_MB, MemoryResult


def verdict(ratio: float, target: float | None) -> str:
    if target is None:
        return ""
    return f">= {target:.2f}  {'met' if ratio >= target else 'NOT met'}"


def rows_table(rows, results: dict[int, RowResult]) -> list[str]:
    """One line per row; the ratio is the row's req/s over the first row's (bare Flask)."""
    floor = results[id(rows[0])].per_second
    width = max(len(row.label) for row in rows) + 2
    lines = [
        f"{'#':>2} {'row':<{width}} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6} {'ratio':>6}  target",
    ]
    for row in rows:
        result = results[id(row)]
        ratio = result.per_second / floor if floor else float("nan")
        lines.append(
            f"{row.number:>2} {row.label:<{width}} {result.per_second:>8,.0f} {result.percentile_ms(50):>7.1f}"
            f" {result.percentile_ms(99):>7.1f} {result.error_count:>6,} {ratio:>6.2f}  {verdict(ratio, row.target)}"
        )
    return lines


def error_lines(rows, results: dict[int, RowResult]) -> list[str]:
    lines = []
    for row in rows:
        result = results[id(row)]
        if result.error_count:
            kinds = ", ".join(f"{kind} {count:,}" for kind, count in result.errors.items() if count)
            lines.append(f"  FAILED requests in row {row.number} ({row.label}): {kinds} (status = answers >= 400)")
    return lines


def memory_lines(mixed: MemoryResult) -> list[str]:
    kinds = len(mixed.kinds)
    lines = [
        f"Memory: {mixed.requests:,} mixed requests ({kinds} kinds of page, signed in and out)"
        f" in {mixed.seconds:.1f} s, then VmRSS of each app worker (never recycled):",
    ]
    for pid, after in mixed.after_mb.items():
        before = mixed.before_mb.get(pid)
        was = f" (was {before:.1f} MB after the rows)" if before is not None else " (a new worker)"
        lines.append(f"  worker {pid}: {after:.1f} MB{was}")
    lines.append(f"  target: < {TARGET_MB} MB each -> {'met' if mixed.met else 'NOT met'}")
    bare = ", ".join(f"{mb:.1f}" for mb in mixed.bare_mb.values())
    lines.append(f"  bare Flask workers, for scale: {bare} MB")
    lines += [f"  FAILED: {kind} ({count:,}x)" for kind, count in mixed.failure_kinds.most_common(10)]
    return lines


def pages_report(settings, rows, results: dict[int, RowResult], mixed: MemoryResult, redis_url: str | None) -> str:
    if settings.database_url:
        database = f"{settings.database_url.split(':')[0]} (BENCH_DATABASE_URL, emptied first)"
    else:
        database = "SQLite (a fresh file)"
    storage = (
        f"Redis ({redis_url}, flushed first)"
        if redis_url
        else "process memory (NOTE: Redis was unreachable, so not as deployed)"
    )
    cache = {"on": "on", "off": "off (NullCache)", "both": "on, and off (NullCache) for rows 3-8"}
    cache_mode = "both" if len(settings.caches) == 2 else settings.caches[0]
    lines = [
        f"Pages: bare Flask (bench/bare.py) and the app (bench/app.py) served alike and at the same time:"
        f" gunicorn -c /dev/null, {settings.workers} sync workers each, own port on 127.0.0.1",
        f"  app: APP_ENV=production, fragment cache {cache[cache_mode]}; cache and rate limits in {storage};"
        f" {database}, {settings.books:,} generated books plus the demo data",
        f"  load: wrk, {settings.connections} connections, {settings.threads} threads; {settings.warmup:g} s warm-up"
        f" per row, then {settings.seconds:g} s per row in {settings.rounds} rounds, the rows in turn;"
        " signed-in rows send the session cookie of reader@example.com, logged in through /auth/login",
        "  ratio = the row's req/s / bare Flask's req/s (row 1); the target is the issue's least ratio",
        "",
        *rows_table(rows, results),
        *error_lines(rows, results),
        "",
        *memory_lines(mixed),
    ]
    return "\n".join(lines) + "\n"
