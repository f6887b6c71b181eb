"""Admin commands that change something leave a row in the audit log: who, what, target, when."""

import getpass
import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import AuditEntry, User
from tests.helpers import make_user

NOW = datetime.now(UTC)


def run(app, *args, **kwargs):
    return app.test_cli_runner().invoke(args=list(args), **kwargs)


def audit_rows(app) -> list[AuditEntry]:
    with app.app_context():
        rows = list(db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
        db.session.expunge_all()
        return rows


def test_user_commands_are_audited_without_the_password(app):
    before = datetime.now(UTC) - timedelta(seconds=1)
    created = run(app, "users", "create-admin", "boss@example.com", "--password", "a long admin password")
    assert created.exit_code == 0, created.output
    assert run(app, "users", "disable", "boss@example.com").exit_code == 0
    assert run(app, "users", "enable", "boss@example.com").exit_code == 0

    with app.app_context():
        boss_id = db.session.scalar(select(User.id).where(User.email == "boss@example.com"))
    rows = audit_rows(app)
    assert [(r.command, r.target) for r in rows] == [
        ("users create-admin", f"user:{boss_id}"),
        ("users disable", f"user:{boss_id}"),
        ("users enable", f"user:{boss_id}"),
    ]
    first = rows[0]
    assert first.actor == getpass.getuser()
    assert before <= first.at <= datetime.now(UTC)
    assert first.details["email"] == "boss@example.com" and first.details["created"] is True
    assert first.details["params"]["password"] == "[redacted]"
    assert "command_line" in first.details
    assert "a long admin password" not in json.dumps([r.details for r in rows])


def test_catalogue_commands_are_audited(app):
    assert run(app, "books", "add", "--isbn", "9780141439518", "--title", "Pride and Prejudice",
               "--author", "Jane Austen", "--price", "8.99", "--stock", "3").exit_code == 0  # fmt: skip
    assert run(app, "books", "set-price", "9780141439518", "9.50").exit_code == 0
    assert run(app, "books", "set-stock", "9780141439518", "7").exit_code == 0
    assert run(app, "books", "remove", "9780141439518").exit_code == 0

    rows = audit_rows(app)
    assert [r.command for r in rows] == ["books add", "books set-price", "books set-stock", "books remove"]
    assert len({r.target for r in rows}) == 1 and rows[0].target.startswith("book:")
    assert rows[1].details["price_cents"] == 950 and rows[2].details["stock"] == 7
    assert rows[1].details["params"] == {"isbn_or_id": "9780141439518", "price": "9.50"}


def test_import_is_audited_with_its_counts(app, tmp_path):
    data = tmp_path / "books.csv"
    data.write_text("isbn,title,authors,price,stock\n9780141439518,Pride and Prejudice,Jane Austen,8.99,3\n")
    assert run(app, "books", "import", str(data)).exit_code == 0
    (row,) = audit_rows(app)
    assert row.command == "books import" and row.target == "file:books.csv"
    assert row.details["inserted"] == 1 and row.details["rejected"] == 0


def test_contest_and_seed_commands_are_audited(app):
    window = ["--starts", (NOW - timedelta(days=1)).isoformat(), "--ends", (NOW + timedelta(days=6)).isoformat()]
    rules = ["--kind", "readers", "--metric", "pages_read"]
    created = run(app, "contests", "create", "--title", "Reading month", *rules, *window)
    assert created.exit_code == 0, created.output
    contest_id = created.output.split("#", 1)[1].split(" ", 1)[0]
    assert run(app, "contests", "open", contest_id).exit_code == 0
    assert run(app, "contests", "cancel", contest_id).exit_code == 0
    assert run(app, "seed", "demo").exit_code == 0

    rows = audit_rows(app)
    assert [(r.command, r.target) for r in rows[:3]] == [
        ("contests create", f"contest:{contest_id}"),
        ("contests open", f"contest:{contest_id}"),
        ("contests cancel", f"contest:{contest_id}"),
    ]
    assert rows[3].command == "seed demo" and rows[3].details["summary"]


def test_failed_and_read_only_commands_leave_no_row(app):
    with app.app_context():
        make_user()
    assert run(app, "users", "disable", "nobody@example.com").exit_code == 1
    assert run(app, "books", "set-price", "9780000000000", "1.00").exit_code == 1
    assert run(app, "users", "list").exit_code == 0
    assert run(app, "contests", "list").exit_code == 0
    assert audit_rows(app) == []


def test_refund_is_audited(app, client):
    from tests.factories import make_books
    from tests.helpers import login_as
    from tests.orders.test_checkout import checkout, fill_cart
    from tests.shop import open_shop

    with app.app_context():
        open_shop()
        make_user()
        (book_id,) = [b.id for b in make_books([{"title": "Middlemarch", "price": "11.00", "stock": 4}])]
    login_as(client)
    fill_cart(client, (book_id, 1))
    order_id, url = checkout(client)
    client.post(url, data={"action": "pay"})
    assert run(app, "orders", "refund", str(order_id)).exit_code == 0

    (row,) = audit_rows(app)
    assert row.command == "orders refund" and row.target == f"order:{order_id}"
    assert row.details["amount_cents"] == 1100 and row.details["refund"]
