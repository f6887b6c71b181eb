"""Donation tests: a reader's actions on clubs' money and books.

The helpers below read like what people do (open a club, join it, give, pay on the gateway page).
They take the app and return plain ids and slugs: ORM objects never outlive their request.
"""

from __future__ import annotations

from sqlalchemy import func, select

from app.clubs.services import create_club, join_club, set_role
from app.extensions import db
from app.models import Club, Donation, FundEntry, User
from tests.helpers import login_as, make_user
from tests.shop import ready_to_receive

OWNER = "owner@example.com"
OWNER_NAME = "Olga Owner"
CLUB_NAME = "Night Owls"


def open_club(app, *, owner_email=OWNER, owner_name=OWNER_NAME, name=CLUB_NAME, visibility="public", goal_cents=0):
    """An owner (created here) opens a club; returns its slug."""
    with app.app_context():
        owner = make_user(email=owner_email, name=owner_name)
        club = create_club(
            owner, name=name, city="Lisbon", country="Portugal", visibility=visibility, donation_goal_cents=goal_cents
        )
        ready_to_receive(club)  # gifts and fund purchases ship to its delivery address
        return club.slug


def reader(app, email, name, *, verified=True):
    """A reader with an account, logged in on a fresh client."""
    with app.app_context():
        make_user(email=email, name=name, verified=verified)
    client = app.test_client()
    assert login_as(client, email=email).status_code in (302, 303)
    return client


def owner_client(app, email=OWNER):
    client = app.test_client()
    assert login_as(client, email=email).status_code in (302, 303)
    return client


def join(app, slug, email, *, role=None):
    """The reader with ``email`` joins the (public) club; ``role="moderator"`` promotes them."""
    with app.app_context():
        club = club_named(slug)
        user = db.session.scalar(select(User).where(User.email == email))
        membership = join_club(club, user)
        if role:
            set_role(club, membership.id, role)


def club_named(slug) -> Club:
    return db.session.scalar(select(Club).where(Club.slug == slug))


def club_id(app, slug) -> int:
    with app.app_context():
        return club_named(slug).id


def give(client, slug, amount, message="", anonymous=False, **headers):
    data = {"amount": str(amount), "message": message}
    if anonymous:
        data["anonymous"] = "y"
    return client.post(f"/clubs/{slug}/donate", data=data, headers=headers)


def pay_on_gateway(client, url, action="pay"):
    """Open the (simulated) payment page, then press Pay or Decline; returns the page we land on."""
    page = client.get(url)
    assert page.status_code == 200, page.status_code
    return client.post(url, data={"action": action}, follow_redirects=True)


def donate_and_pay(client, slug, amount, **kwargs):
    response = give(client, slug, amount, **kwargs)
    assert response.status_code == 303, response.get_data(as_text=True)
    return pay_on_gateway(client, response.headers["Location"])


def balance(app, slug) -> int:
    from app.donations.fund import fund_balance

    with app.app_context():
        return fund_balance(club_named(slug).id)


def fund_entries(app, slug) -> list[tuple[str, int, int]]:
    """(kind, amount, balance after) for every ledger line, oldest first."""
    with app.app_context():
        cid = club_named(slug).id
        rows = db.session.execute(
            select(FundEntry.kind, FundEntry.amount_cents, FundEntry.balance_after_cents)
            .where(FundEntry.club_id == cid)
            .order_by(FundEntry.id)
        ).all()
        return [tuple(row) for row in rows]


def fund_lines(club_id: int) -> list[tuple[str, int, int]]:
    """(kind, amount, balance after) for every ledger line of the club, oldest first (in an app context)."""
    return db.session.execute(
        select(FundEntry.kind, FundEntry.amount_cents, FundEntry.balance_after_cents)
        .where(FundEntry.club_id == club_id)
        .order_by(FundEntry.id)
    ).all()


def assert_running_balance(lines: list[tuple[str, int, int]], *, purchases_never_overdraw: bool = True) -> int:
    """Every line's balance is the sum of the lines so far (none was written from a stale balance),
    and no purchase took the fund below zero. Returns the final balance."""
    running = 0
    for kind, amount, balance_after in lines:
        running += amount
        assert balance_after == running, lines
        if purchases_never_overdraw and kind == FundEntry.PURCHASE:
            assert balance_after >= 0, lines
    return running


def fund_purchase(club_id: int, owner_id: int, item_id: int):
    """A concurrency task (tests/concurrency.py): the owner buys one wished book with the fund.
    Returns the order id, or the reason it was refused."""
    from app.donations.fund import FundError
    from app.donations.shelf import buy_from_fund

    def task(start):
        club, owner = db.session.get(Club, club_id), db.session.get(User, owner_id)
        start()
        try:
            return buy_from_fund(club, owner, [item_id]).id
        except FundError as exc:
            return str(exc)

    return task


def latest_donation(app) -> Donation:
    with app.app_context():
        donation = db.session.scalars(select(Donation).order_by(Donation.id.desc())).first()
        db.session.expunge(donation)
        return donation


def count(app, column, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(column)).where(*where))


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def html_of(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()
