"""``flask contests``: create, list, show, open, cancel, score what is due, rescore."""

from datetime import UTC, datetime

import click
from sqlalchemy import func, select

from app.accounts.services import find_user_by_email
from app.cli import CommandGroup, exit_on
from app.cli.audit import record_admin_action
from app.contests import services
from app.contests.leaderboard import score_label
from app.contests.scoring import TIE_BREAK_RULE, Standing, compute_standings, formula
from app.extensions import db
from app.models import Club, Contest, ContestEntry, ContestKind, ContestStatus, Metric, Scoring

contests = CommandGroup("contests", help="Run contests between clubs or readers.")


def _one_of(option: str, value: str, labels: dict[str, str]) -> str:
    if value not in labels:
        raise click.ClickException(f"{option} must be one of: {', '.join(labels)} (got {value!r})")
    return value


def _when(option: str, value: str) -> datetime:
    """An ISO 8601 date and time; with an offset or Z, else taken as UTC."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise click.ClickException(f"{option}: not an ISO date and time: {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _contest_or_fail(contest_id: int) -> Contest:
    contest = db.session.get(Contest, contest_id)
    if contest is None:
        raise click.ClickException(f"no contest {contest_id}")
    return contest


@contests.command("create")
@click.option("--title", required=True)
@click.option("--kind", required=True, help=f"One of: {', '.join(ContestKind.LABELS)}.")
@click.option("--metric", required=True, help=f"One of: {', '.join(Metric.LABELS)}.")
@click.option("--scoring", default=Scoring.TOTAL, show_default=True, help=f"One of: {', '.join(Scoring.LABELS)}.")
@click.option("--starts", required=True, help="ISO 8601, e.g. 2026-12-01T00:00+01:00 (no offset: UTC).")
@click.option("--ends", required=True, help="ISO 8601; the end is included in the window.")
@click.option("--prize", default="")
@click.option("--description", default="")
@click.option("--member-floor", default=3, show_default=True, type=click.IntRange(min=1, max=1000))
@click.option("--provisional-hours", type=click.IntRange(min=0, max=720), help="Default: CONTEST_PROVISIONAL_HOURS.")
@click.option("--host-club", "host_slug", help="Slug of the club that hosts it (club contests only).")
def create(
    title: str,
    kind: str,
    metric: str,
    scoring: str,
    starts: str,
    ends: str,
    prize: str,
    description: str,
    member_floor: int,
    provisional_hours: int | None,
    host_slug: str | None,
) -> None:
    """Create a draft contest."""
    kind = _one_of("--kind", kind, ContestKind.LABELS)
    metric = _one_of("--metric", metric, Metric.LABELS)
    scoring = _one_of("--scoring", scoring, Scoring.LABELS)
    starts_at, ends_at = _when("--starts", starts), _when("--ends", ends)
    host = None
    if host_slug:
        host = db.session.scalar(select(Club).where(Club.slug == host_slug.strip()))
        if host is None:
            raise click.ClickException(f"no club with slug {host_slug!r}")
    with exit_on(services.ContestError):
        contest = services.create_contest(
            title=title,
            kind=kind,
            metric=metric,
            scoring=scoring,
            starts_at=starts_at,
            ends_at=ends_at,
            prize=prize,
            description=description,
            host_club=host,
            member_floor=member_floor,
            provisional_hours=provisional_hours,
        )
    record_admin_action("contests create", f"contest:{contest.id}", title=contest.title)
    click.echo(
        f"Created draft contest #{contest.id} “{contest.title}”: {contest.kind_label.lower()}, "
        f"{contest.metric_label.lower()}, {_utc(contest.starts_at)} to {_utc(contest.ends_at)}. "
        f"Open it with: flask contests open {contest.id}"
    )


@contests.command("list")
@click.option("--status", help=f"Only contests in this state: {', '.join(ContestStatus.LABELS)}.")
def list_contests(status: str | None) -> None:
    """Every contest, newest window first, with its entrants."""
    entrants = (
        select(ContestEntry.contest_id, func.count(ContestEntry.id).label("n"))
        .group_by(ContestEntry.contest_id)
        .subquery()
    )
    query = (
        select(Contest, func.coalesce(entrants.c.n, 0))
        .outerjoin(entrants, entrants.c.contest_id == Contest.id)
        .order_by(Contest.starts_at.desc(), Contest.id.desc())
    )
    if status:
        query = query.where(Contest.status == _one_of("--status", status, ContestStatus.LABELS))
    rows = db.session.execute(query).all()
    for contest, count in rows:
        click.echo(
            f"#{contest.id:<5} {contest.status:<9} {contest.kind:<7} {contest.metric:<13} "
            f"{contest.starts_at.astimezone(UTC):%Y-%m-%d %H:%M} → {contest.ends_at.astimezone(UTC):%Y-%m-%d %H:%M}  "
            f"{count:>3} entrant(s)  {contest.title}"
        )
    click.echo(f"{len(rows)} contest(s).")


@contests.command("show")
@click.argument("contest_id", type=int)
def show(contest_id: int) -> None:
    """One contest: its rules, window and standings."""
    contest = _contest_or_fail(contest_id)
    click.echo(f"Contest #{contest.id} “{contest.title}” · {contest.status_label}")
    click.echo(f"{contest.kind_label} · {contest.metric_label} · {contest.scoring_label}")
    click.echo(f"Window: {_utc(contest.starts_at)} to {_utc(contest.ends_at)}, both ends included")
    click.echo(formula(contest))
    click.echo(TIE_BREAK_RULE)
    if contest.prize:
        click.echo(f"Prize: {contest.prize}")
    if contest.provisional_until and contest.status == ContestStatus.SCORING:
        click.echo(f"Provisional until {_utc(contest.provisional_until)}")
    if contest.standings:
        standings = [Standing(**s) for s in contest.standings.get("entrants", [])]
        winner = contest.standings.get("winner")
        click.echo(f"Standings (scored {contest.standings.get('scored_at', '?')}):")
    elif contest.status == ContestStatus.OPEN:
        standings, winner = compute_standings(contest), None
        click.echo("Standings so far:")
    else:
        standings, winner = [], None
    for s in standings:
        click.echo(
            f"  {s.rank:>3}. {s.name:<30} {score_label(contest, s):>12}  {round(100 * s.participation)}% took part"
        )
    if contest.standings is not None:
        click.echo(f"Winner: {winner['name']}" if winner else "Winner: none (nobody scored)")


@contests.command("open")
@click.argument("contest_id", type=int)
def open_(contest_id: int) -> None:
    """Open a draft for entries."""
    contest = _contest_or_fail(contest_id)
    with exit_on(services.ContestError):
        services.open_contest(contest)
    record_admin_action("contests open", f"contest:{contest.id}", title=contest.title)
    click.echo(f"Contest #{contest.id} is open for entries until {_utc(contest.ends_at)}.")


@contests.command("cancel")
@click.argument("contest_id", type=int)
def cancel(contest_id: int) -> None:
    """Cancel a contest that has not finished."""
    contest = _contest_or_fail(contest_id)
    with exit_on(services.ContestError):
        services.cancel_contest(contest)
    record_admin_action("contests cancel", f"contest:{contest.id}", title=contest.title)
    click.echo(f"Contest #{contest.id} is cancelled.")


@contests.command("close-due")
def close_due() -> None:
    """Score contests whose window ended and finalise provisional results that are due (for cron)."""
    scored = services.close_due()
    if not scored:
        click.echo("No contest is due.")
        return
    for contest_id in scored:
        record_admin_action("contests close-due", f"contest:{contest_id}")
    click.echo(f"Scored {len(scored)} contest(s): {', '.join(f'#{i}' for i in scored)}")


@contests.command("rescore")
@click.argument("contest_id", type=int)
@click.option("--by", "by_email", required=True, help="Email of the person asking (recorded with the run).")
@click.option("--note", default="", help="Why (recorded with the run).")
def rescore(contest_id: int, by_email: str, note: str) -> None:
    """Recompute a finished contest's standings (after refunds or upheld flags); sends no email."""
    contest = _contest_or_fail(contest_id)
    person = find_user_by_email(by_email)
    if person is None:
        raise click.ClickException(f"no user with email {by_email.strip().lower()}")
    with exit_on(services.ContestError):
        services.rescore(contest, requested_by=person.email, note=note)
    contest = _contest_or_fail(contest_id)
    winner = (contest.standings or {}).get("winner")
    record_admin_action(
        "contests rescore",
        f"contest:{contest.id}",
        requested_by=person.email,
        note=note,
        winner=winner["name"] if winner else None,
    )
    if winner:
        click.echo(
            f"Rescored contest #{contest.id}. Winner: {winner['name']} ({score_label(contest, Standing(**winner))})."
        )
    else:
        click.echo(f"Rescored contest #{contest.id}. No winner: nobody scored.")
