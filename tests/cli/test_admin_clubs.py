"""Moderating clubs from the command line: list, show, hide, close, transfer; each change audited."""

from sqlalchemy import select

from app.extensions import db
from app.models import AuditEntry, Club, DonationStatus, Membership, Role, User
from tests.clubs import add_member, start_club
from tests.donations import give, latest_donation, open_club, reader


def run(app, *args, **kwargs):
    return app.test_cli_runner().invoke(args=list(args), **kwargs)


def audited(app) -> list[tuple[str, str]]:
    with app.app_context():
        return [(r.command, r.target) for r in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def the_club(app, slug: str) -> Club:
    with app.app_context():
        club = db.session.scalar(select(Club).where(Club.slug == slug))
        db.session.expunge(club)
        return club


def roles(app, slug: str) -> dict[str, str]:
    with app.app_context():
        rows = db.session.execute(
            select(User.email, Membership.role)
            .join(Membership, Membership.user_id == User.id)
            .join(Club, Club.id == Membership.club_id)
            .where(Club.slug == slug)
        )
        return {email: role for email, role in rows}


def two_clubs(app):
    with app.app_context():
        paris = start_club(name="Paris Readers")
        add_member(paris.id, "ana@example.com", "Ana")
        start_club(name="Lyon Lit", city="Lyon", owner_email="lou@example.com", owner_name="Lou")
    return "paris-readers", "lyon-lit"


def directory_names(client, api=False) -> str:
    if api:
        return client.get("/api/v1/clubs").get_data(as_text=True)
    return client.get("/clubs").get_data(as_text=True)


def test_list_and_show_clubs(app):
    two_clubs(app)
    listed = run(app, "clubs", "list")
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert "lyon-lit" in lines[0] and "listed" in lines[0] and "owner lou@example.com" in lines[0]
    assert "paris-readers" in lines[1] and "2 member(s)" in lines[1] and "owner owner@example.com" in lines[1]
    assert lines[-1] == "2 club(s)."

    shown = run(app, "clubs", "show", "paris-readers")
    assert shown.exit_code == 0, shown.output
    assert "Paris Readers (id " in shown.output and "state:      listed, public" in shown.output
    assert "fund:       " in shown.output and "members:    2 active" in shown.output
    assert "owner      owner@example.com" in shown.output and "member     ana@example.com" in shown.output

    missing = run(app, "clubs", "show", "nowhere")
    assert missing.exit_code == 1 and "no club 'nowhere'" in missing.output


def test_hide_leaves_a_club_out_of_the_directory_until_undone(app, client):
    paris, _ = two_clubs(app)
    assert "Paris Readers" in directory_names(client)

    result = run(app, "clubs", "hide", paris)
    assert result.exit_code == 0, result.output
    assert "Paris Readers is hidden from the directory." in result.output
    assert the_club(app, paris).hidden
    page = directory_names(client)
    assert "Paris Readers" not in page and "Lyon Lit" in page
    assert "Paris Readers" not in directory_names(client, api=True)
    assert "Lyon Lit" in directory_names(client, api=True)
    assert "1 club(s)." in run(app, "clubs", "list", "--state", "hidden").output
    assert client.get(f"/clubs/{paris}").status_code == 200  # its page still opens from its link

    again = run(app, "clubs", "hide", paris)
    assert again.exit_code == 1 and "already hidden" in again.output

    shown = run(app, "clubs", "hide", paris, "--undo")
    assert shown.exit_code == 0 and "Paris Readers is listed again." in shown.output
    assert "Paris Readers" in directory_names(client)
    club_id = the_club(app, paris).id
    assert audited(app) == [("clubs hide", f"club:{club_id}"), ("clubs unhide", f"club:{club_id}")]


def test_close_uses_the_club_service_and_expires_open_donation_checkouts(app):
    slug = open_club(app)
    donor = reader(app, "donor@example.com", "Dora Donor")
    assert give(donor, slug, "25").status_code == 303  # a checkout left open

    refused = run(app, "clubs", "close", slug, input="n\n")
    assert refused.exit_code == 1 and the_club(app, slug).closed_at is None

    result = run(app, "clubs", "close", slug, "--yes")
    assert result.exit_code == 0, result.output
    assert the_club(app, slug).closed_at is not None
    assert latest_donation(app).status == DonationStatus.EXPIRED
    assert "closed" in run(app, "clubs", "list", "--state", "closed").output
    assert audited(app) == [("clubs close", f"club:{the_club(app, slug).id}")]

    again = run(app, "clubs", "close", slug, "--yes")
    assert again.exit_code == 1 and "already closed" in again.output


def test_close_refuses_a_club_whose_fund_holds_money(app):
    from app.donations.fund import add_entry, lock_fund
    from app.models import FundEntry

    slug = open_club(app)
    with app.app_context():
        club_id = the_club(app, slug).id
        lock_fund(club_id)
        add_entry(club_id, FundEntry.DONATION, 1500, "a gift")
        db.session.commit()
    result = run(app, "clubs", "close", slug, "--yes")
    assert result.exit_code == 1 and "The club fund still holds" in result.output
    assert the_club(app, slug).closed_at is None and audited(app) == []


def test_transfer_hands_the_club_to_a_member(app):
    paris, _ = two_clubs(app)
    result = run(app, "clubs", "transfer", paris, "Ana@Example.com")
    assert result.exit_code == 0, result.output
    assert "ana@example.com owns Paris Readers now; owner@example.com stays on as a moderator." in result.output
    assert roles(app, paris) == {"ana@example.com": Role.OWNER, "owner@example.com": Role.MODERATOR}
    assert audited(app) == [("clubs transfer", f"club:{the_club(app, paris).id}")]

    outsider = run(app, "clubs", "transfer", paris, "lou@example.com")
    assert outsider.exit_code == 1 and "lou@example.com is not a member of Paris Readers" in outsider.output
    to_owner = run(app, "clubs", "transfer", paris, "ana@example.com")
    assert to_owner.exit_code == 1 and "only to another active member" in to_owner.output
