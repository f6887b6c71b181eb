"""``flask clubs``: list and inspect clubs; hide, close and transfer them (moderation).

Every change goes through the clubs services the web uses, and is recorded in the audit log.
"""

import click
from sqlalchemy import func, select

from app.cli import CommandGroup, exit_on
from app.cli.audit import record_admin_action
from app.clubs import services
from app.clubs.queries import members_of
from app.donations.fund import fund_balance
from app.extensions import db
from app.formatting import money
from app.models import Club, Membership, MemberStatus, Role, User

clubs = CommandGroup("clubs", help="Moderate book clubs.")


def _club_or_fail(slug: str) -> Club:
    club = db.session.scalar(select(Club).where(Club.slug == slug.strip().lower()))
    if club is None:
        raise click.ClickException(f"no club {slug.strip()!r} (use its slug, as in /clubs/<slug>)")
    return club


def _state(club: Club) -> str:
    if club.closed_at is not None:
        return "closed"
    return "hidden" if club.hidden else "listed"


@clubs.command("list")
@click.option(
    "--state",
    type=click.Choice(["listed", "hidden", "closed"]),
    help="Only clubs in this state (default: all).",
)
@click.option("--limit", default=100, show_default=True, type=click.IntRange(min=1))
def list_clubs(state: str | None, limit: int) -> None:
    """Clubs by name: slug, state, visibility, active members, owner."""
    members = (
        select(Membership.club_id, func.count(Membership.id).label("members"))
        .where(Membership.status == MemberStatus.ACTIVE)
        .group_by(Membership.club_id)
        .subquery()
    )
    owners = select(Membership.club_id, User.email).join(User, User.id == Membership.user_id)
    owners = owners.where(Membership.role == Role.OWNER).subquery()
    query = (
        select(Club, func.coalesce(members.c.members, 0), owners.c.email)
        .outerjoin(members, members.c.club_id == Club.id)
        .outerjoin(owners, owners.c.club_id == Club.id)
        .order_by(Club.name, Club.id)
        .limit(limit)
    )
    if state == "closed":
        query = query.where(Club.closed_at.is_not(None))
    elif state:
        query = query.where(Club.closed_at.is_(None), Club.hidden.is_(state == "hidden"))
    rows = db.session.execute(query).all()
    for club, count, owner in rows:
        click.echo(
            f"{club.id:>5}  {club.slug:<32} {_state(club):<7} {club.visibility:<8} {count:>4} member(s)  "
            f"owner {owner or '-'}"
        )
    click.echo(f"{len(rows)} club(s).")


@clubs.command("show")
@click.argument("slug")
def show(slug: str) -> None:
    """One club: its place, state, fund and members with their roles."""
    club = _club_or_fail(slug)
    click.echo(f"{club.name} (id {club.id}, /clubs/{club.slug})")
    click.echo(f"  place:      {club.place}")
    click.echo(f"  state:      {_state(club)}, {club.visibility}")
    click.echo(f"  created:    {club.created_at:%Y-%m-%d %H:%M} UTC")
    if club.closed_at:
        click.echo(f"  closed:     {club.closed_at:%Y-%m-%d %H:%M} UTC")
    click.echo(f"  fund:       {money(fund_balance(club.id))} (goal {money(club.donation_goal_cents)})")
    people = members_of(club)
    click.echo(f"  members:    {sum(1 for m, _ in people if m.status == MemberStatus.ACTIVE)} active")
    for membership, user in people:
        role = membership.role if membership.status == MemberStatus.ACTIVE else membership.status
        click.echo(f"    {role:<10} {user.email:<40} {user.name}")


@clubs.command("hide")
@click.argument("slug")
@click.option("--undo", is_flag=True, help="List the club again.")
def hide(slug: str, undo: bool) -> None:
    """Leave SLUG out of the club directory (site and API); --undo lists it again.

    Members keep the club and its page still opens from its link.
    """
    club = _club_or_fail(slug)
    with exit_on(services.ClubError):
        services.set_club_hidden(club, not undo)
    record_admin_action("clubs unhide" if undo else "clubs hide", f"club:{club.id}", slug=club.slug)
    click.echo(f"{club.name} is {'listed again' if undo else 'hidden from the directory'}.")


@clubs.command("close")
@click.argument("slug")
@click.option("--yes", is_flag=True, help="Close without asking.")
def close(slug: str, yes: bool) -> None:
    """Close SLUG as its owner would: only with an empty fund; open donation checkouts are expired."""
    club = _club_or_fail(slug)
    if club.closed_at is not None:
        raise click.ClickException(f"{club.name} is already closed")
    if not yes:
        click.confirm(f"Close {club.name} ({club.slug})? Members can no longer join or give.", abort=True)
    with exit_on(services.ClubError):
        services.close_club(club)
    record_admin_action("clubs close", f"club:{club.id}", slug=club.slug)
    click.echo(f"{club.name} is closed.")


@clubs.command("transfer")
@click.argument("slug")
@click.argument("email")
def transfer(slug: str, email: str) -> None:
    """Make EMAIL, an active member of SLUG, its owner; the old owner stays on as a moderator."""
    club = _club_or_fail(slug)
    address = email.strip().lower()
    membership = db.session.scalar(
        select(Membership)
        .join(User, User.id == Membership.user_id)
        .where(Membership.club_id == club.id, User.email == address)
    )
    if membership is None:
        raise click.ClickException(f"{address} is not a member of {club.name}")
    old_owner = services.owner_of(club)
    with exit_on(services.ClubError):
        services.transfer_ownership(club, old_owner, membership.id)
    record_admin_action(
        "clubs transfer",
        f"club:{club.id}",
        slug=club.slug,
        new_owner=address,
        old_owner=old_owner.email if old_owner else None,
    )
    click.echo(
        f"{address} owns {club.name} now" + (f"; {old_owner.email} stays on as a moderator." if old_owner else ".")
    )
