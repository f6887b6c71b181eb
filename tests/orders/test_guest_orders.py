"""Guest orders: bought with an email and no account, seen through the signed link in their emails,
claimed by the account that confirms the same address."""

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import EmailMessage, Notification, Order, User
from app.orders.guests import claim_guest_orders, guest_order_url
from app.orders.shipping import ship_order
from tests.api import API, api_login, bearer
from tests.factories import make_books, make_guest_order
from tests.helpers import link_in, login_as, make_user, path_of, register_user
from tests.payments.money import next_id, pay

GUEST = "Gina.Guest@Example.com"
SHIP_TO = {"lines": ["Gina Guest", "12 Rua Augusta", "1100-053 Lisboa", "Portugal"]}


def guest_order(email=GUEST, paid=True) -> int:
    """Gina bought Middlemarch ($11.00) and two Kindred ($9.50 each) without an account."""
    middlemarch, kindred = make_books(
        [{"title": "Middlemarch", "price": "11.00", "stock": 5}, {"title": "Kindred", "price": "9.50", "stock": 5}]
    )
    order = make_guest_order(
        email, [(middlemarch, 1), (kindred, 2)], ship_to=SHIP_TO, checkout_session_id=next_id("cs_test")
    )
    if paid:
        assert pay(order) == "paid"
    return order.id


def order_link(order_id: int) -> str:
    return path_of(guest_order_url(db.session.get(Order, order_id)))


def emails_to(address: str) -> list[EmailMessage]:
    return list(db.session.scalars(select(EmailMessage).where(EmailMessage.recipient == address)))


def owner_of(order_id: int) -> int | None:
    db.session.expire_all()
    return db.session.get(Order, order_id).user_id


@pytest.fixture
def paid_guest_order(app_ctx):
    return guest_order()


def test_a_guest_order_has_no_account_and_its_emails_go_to_the_guest_with_the_link(paid_guest_order):
    order = db.session.get(Order, paid_guest_order)
    assert (order.user_id, order.guest_email, order.total_cents, order.status) == (None, GUEST, 3000, "paid")
    [receipt] = emails_to(GUEST)
    assert receipt.template == "order_receipt"
    link = guest_order_url(order)
    assert link.startswith("http://localhost/orders/guest/")
    assert f"See your order: {link}" in receipt.body_text
    assert f'href="{link}"' in receipt.body_html
    assert f"/orders/{order.id}\n" not in receipt.body_text  # not the account's page

    assert ship_order(paid_guest_order, "ups", "1Z999AA10123456784") is True
    shipped = [m for m in emails_to(GUEST) if m.template == "order_shipped"]
    assert len(shipped) == 1 and link in shipped[0].body_text


def test_the_link_shows_the_order_without_an_account(client, paid_guest_order):
    page = client.get(order_link(paid_guest_order))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f"Order #{paid_guest_order}" in html
    for seen in ("Middlemarch", "Kindred", "$30.00", "12 Rua Augusta", "Paid", GUEST):
        assert seen in html
    assert 'name="robots" content="noindex"' in html
    invoice = re.search(r'href="(/orders/guest/[^"]+/invoice\.pdf)"', html).group(1)
    pdf = client.get(invoice)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")


def test_an_open_guest_order_polls_its_own_link_and_has_no_account_pay_button(client, app_ctx):
    order_id = guest_order(paid=False)
    link = order_link(order_id)
    html = client.get(link).get_data(as_text=True)
    assert f'hx-get="{link}"' in html and f"/orders/{order_id}/pay" not in html
    fragment = client.get(link, headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.get_data(as_text=True)


def test_a_tampered_or_made_up_link_is_not_found(client, paid_guest_order):
    link = order_link(paid_guest_order)
    tampered = link[:-2] + ("AA" if not link.endswith("AA") else "BB")
    for path in (tampered, "/orders/guest/nonsense", tampered + "/invoice.pdf", "/orders/guest/x.y/invoice.pdf"):
        assert client.get(path).status_code == 404, path


def test_a_link_made_for_another_address_shows_nothing(client, paid_guest_order, app):
    from app.orders.guests import _address_digest, _serializer

    forged = _serializer().dumps({"o": paid_guest_order, "e": _address_digest("someone@else.example")})
    assert client.get(f"/orders/guest/{forged}").status_code == 404
    assert GUEST.lower() not in order_link(paid_guest_order)  # the address is not readable in the link


def test_no_invoice_before_payment(client, app_ctx):
    order_id = guest_order(paid=False)
    assert client.get(order_link(order_id) + "/invoice.pdf").status_code == 404


def test_the_database_refuses_an_order_with_no_buyer(app_ctx):
    from sqlalchemy.exc import IntegrityError

    db.session.add(Order(total_cents=0, gateway="simulated", status="pending"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_registering_and_confirming_the_address_claims_the_orders(app, client, inbox):
    with app.app_context():
        first, second = guest_order(), guest_order(paid=False)
        other = guest_order(email="other@example.com")
        link = order_link(first)
    register_user(client, email="gina.guest@example.com", name="Gina Guest")
    with app.app_context():  # registered, not confirmed: an unconfirmed address claims nothing
        assert owner_of(first) is None and owner_of(second) is None
    [confirm] = [m for m in inbox.wait_for(GUEST, count=2) if "Confirm" in m["Subject"]]
    verify = link_in(confirm, "/auth/verify/")
    client.get(path_of(verify), follow_redirects=True)

    with app.app_context():
        gina = db.session.scalar(select(User).where(User.email == "gina.guest@example.com"))
        assert owner_of(first) == gina.id and owner_of(second) == gina.id
        assert db.session.get(Order, first).guest_email == GUEST  # the history stays
        assert owner_of(other) is None
        titles = list(db.session.scalars(select(Notification.title).where(Notification.user_id == gina.id)))
        assert titles == ["2 earlier orders are now in your account."]
        assert claim_guest_orders(gina) == 0  # a second run moves nothing and says nothing
        assert db.session.scalar(select(db.func.count(Notification.id))) == 1

    listing = client.get("/orders").get_data(as_text=True)
    assert f"#{first}" in listing and f"#{second}" in listing and f"#{other}" not in listing
    assert client.get(f"/orders/{first}").status_code == 200
    # The old link now asks to log in (the order is the account's), and shows nothing to a visitor.
    client.post("/auth/logout")
    revoked = client.get(link)
    assert revoked.status_code == 302 and "/auth/login" in revoked.headers["Location"]
    assert client.get(link + "/invoice.pdf").status_code == 302


def test_logging_in_to_a_verified_account_claims_orders_bought_as_a_guest_since(app, client):
    with app.app_context():
        make_user(email="gina.guest@example.com", name="Gina Guest")
        order_id = guest_order()
    login_as(client, email="gina.guest@example.com")
    with app.app_context():
        assert owner_of(order_id) is not None
    assert f"#{order_id}" in client.get("/orders").get_data(as_text=True)


def test_an_unverified_account_and_someone_else_claim_nothing(app, client):
    with app.app_context():
        make_user(email="gina.guest@example.com", name="Not Yet Gina", verified=False)
        make_user(email="reader@example.com")
        order_id = guest_order()
    login_as(client, email="gina.guest@example.com")
    client.post("/auth/logout")
    login_as(client)
    with app.app_context():
        assert owner_of(order_id) is None
        assert db.session.scalar(select(db.func.count(Notification.id))) == 0
    assert client.get(f"/orders/{order_id}").status_code == 404
    assert client.get(f"/orders/{order_id}/invoice.pdf").status_code == 404
    assert f"#{order_id}" not in client.get("/orders").get_data(as_text=True)


def test_the_api_lists_claimed_orders_and_never_another_buyers(app, client):
    with app.app_context():
        make_user(email="gina.guest@example.com", name="Gina Guest")
        make_user(email="reader@example.com")
        gina_order, stranger_order = guest_order(), guest_order(email="stranger@example.com")
    gina = api_login(client, "gina.guest@example.com")  # a log in through the API claims too
    reader = api_login(client, "reader@example.com")
    mine = client.get(f"{API}/me/orders", headers=bearer(gina)).get_json()
    assert [o["id"] for o in mine["items"]] == [gina_order]
    assert client.get(f"{API}/me/orders", headers=bearer(reader)).get_json()["items"] == []
    for token in (gina, reader):
        assert client.get(f"{API}/me/orders/{stranger_order}", headers=bearer(token)).status_code == 404
    assert client.get(f"{API}/me/orders/{gina_order}", headers=bearer(reader)).status_code == 404


def test_staff_see_the_guest_as_the_buyer_in_the_cli(app, tmp_path):
    with app.app_context():
        order_id = guest_order()
    runner = app.test_cli_runner()
    listed = runner.invoke(args=["orders", "list"])
    assert f"#{order_id}" in listed.output and GUEST in listed.output and "1 order(s)." in listed.output
    shown = runner.invoke(args=["orders", "show", str(order_id)])
    assert f"Buyer: {GUEST} (guest)" in shown.output
    slips = runner.invoke(args=["orders", "slips", "--status", "paid", "--out", str(tmp_path / "slips.pdf")])
    assert slips.exit_code == 0, slips.output
    assert (tmp_path / "slips.pdf").read_bytes().startswith(b"%PDF")


def test_the_guest_page_runs_a_fixed_number_of_queries(app, client, count_queries):
    with app.app_context():
        small = order_link(guest_order())
        books = make_books([{"title": f"Book {n}", "price": "5.00", "stock": 3} for n in range(6)])
        big = make_guest_order(GUEST, [(book, 1) for book in books], checkout_session_id=next_id("cs_test"))
        pay(big)
        big = order_link(big.id)
    with count_queries() as few:
        assert client.get(small).status_code == 200
    with count_queries() as many:
        assert client.get(big).status_code == 200
    assert few.count == many.count, many.statements


def test_the_guest_link_is_rate_limited_per_address(app, base_settings):
    from app import create_app
    from app.extensions import limiter
    from tests.conftest import make_config

    strict = create_app(make_config(**base_settings, GUEST_ORDER_LIMIT_PER_IP="3 per minute"))
    with strict.app_context():
        limiter.reset()
        link = order_link(guest_order())
    client = strict.test_client()
    answers = [client.get(link).status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    assert client.get("/orders/guest/nonsense").status_code == 429  # guessing shares the budget
    with strict.app_context():
        limiter.reset()
