"""The live leaderboard: standings from the last few seconds, with rank changes and a chart."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from app.contests.scoring import Standing, compute_many, compute_standings
from app.extensions import cache
from app.formatting import format_score
from app.models import Contest, ContestStatus


@dataclass
class Row:
    standing: Standing
    change: int  # places gained since the previous different leaderboard (negative: lost)
    bar_percent: float


def live_leaderboard(contest: Contest) -> list[Row]:
    """Current standings (cached a few seconds); final standings once the contest is scored."""
    if contest.status in (ContestStatus.FINISHED, ContestStatus.SCORING) and contest.standings:
        standings = [Standing(**s) for s in contest.standings.get("entrants", [])]
        return _rows(standings, {})
    key = f"contest:{contest.id}:live"
    standings = cache.get(key)
    if standings is None:
        standings = compute_standings(contest)
        cache.set(key, standings, timeout=current_app.config["LEADERBOARD_CACHE_SECONDS"])
        _remember(contest.id, standings)
    previous = cache.get(f"contest:{contest.id}:previous") or {}
    return _rows(standings, previous)


def forget_live(contest_id: int) -> None:
    """Drop the cached standings, so a new entrant shows at once rather than after the cache expires."""
    cache.delete(f"contest:{contest_id}:live")


def _remember(contest_id: int, standings: list[Standing]) -> None:
    """Keep the last two different rankings, so the page can show who moved."""
    ranks = {s.entrant_id: s.rank for s in standings}
    last = cache.get(f"contest:{contest_id}:last")
    if last != ranks:
        if last is not None:
            cache.set(f"contest:{contest_id}:previous", last, timeout=24 * 3600)
        cache.set(f"contest:{contest_id}:last", ranks, timeout=24 * 3600)


def _rows(standings: list[Standing], previous: dict) -> list[Row]:
    top = max((s.score for s in standings), default=0) or 1
    return [
        Row(
            standing=s,
            change=(previous.get(s.entrant_id, s.rank) - s.rank) if previous else 0,
            bar_percent=round(100 * s.score / top, 1),
        )
        for s in standings
    ]


def score_label(contest: Contest, standing: Standing) -> str:
    """The standing's score as readers see it (precision and unit from ``format_score``)."""
    return format_score(standing.score, contest.metric, contest.scoring)


def live_standings_of(contests: list[Contest]) -> dict[int, list[Standing]]:
    """Every entrant's standing in each contest: cached live standings where there are some, the
    rest computed together in one query (and cached for the contest pages)."""
    keys = [f"contest:{contest.id}:live" for contest in contests]
    cached = dict(zip([c.id for c in contests], cache.get_many(*keys) if keys else [], strict=True))
    missing = [contest for contest in contests if cached.get(contest.id) is None]
    for contest_id, standings in compute_many(missing).items():
        cached[contest_id] = standings
        cache.set(f"contest:{contest_id}:live", standings, timeout=current_app.config["LEADERBOARD_CACHE_SECONDS"])
        _remember(contest_id, standings)
    return {contest.id: cached[contest.id] for contest in contests}


def leaders_of(contests: list[Contest], top: int = 3) -> dict[int, list[Standing]]:
    """The first ``top`` of each contest (at most one query)."""
    return {contest_id: standings[:top] for contest_id, standings in live_standings_of(contests).items()}
