"""Checkout in steps: address -> shipping -> review -> pay, as a reader (and a visitor) goes through it.

The shop (tests.shop.open_shop): the US free by Standard, $15 Express; France $9 Colissimo with TVA
5.5% on books and shipping; WELCOME10 is 10% off once per customer.
"""

import pytest
from sqlalchemy import func, select

from app.addresses.services import add_address, delete_address
from app.extensions import db
from app.models import DiscountCode, DiscountRedemption, Order, OrderStatus, ShippingMethod, ShippingZone, User
from app.pricing.discounts import create_code
from app.pricing.shipping import disable_method
from tests.factories import make_books
from tests.helpers import login_as, make_user
from tests.shop import (
    FR_ADDRESS,
    US_ADDRESS,
    checkout,
    choose_address,
    choose_method,
    method_id,
    open_shop,
    pay,
    pay_key,
)

HTMX = {"HX-Request": "true", "HX-Request-Type": "partial"}


@pytest.fixture
def emma(app):
    with app.app_context():
        open_shop()
        return make_books([{"title": "Emma", "price": "20.00", "stock": 5}])[0].id


@pytest.fixture
def reader(app, client, emma):
    with app.app_context():
        make_user()
    login_as(client)
    assert client.post("/cart/add", data={"book_id": emma, "quantity": 2}).status_code == 303
    return client


def the_order(app, order_id: int) -> Order:
    with app.app_context():
        order = db.session.get(Order, order_id)
        db.session.expunge(order)
        return order


def uses_of(app, code: str) -> int:
    with app.app_context():
        return db.session.scalar(select(DiscountCode.uses).where(DiscountCode.code == code))


# ---- The steps ----------------------------------------------------------------------------------


def test_checkout_starts_at_the_address_step_with_a_stepper(reader):
    start = reader.get("/checkout")
    assert start.status_code == 303 and start.headers["Location"].endswith("/checkout/address")
    page = reader.get("/checkout/address").get_data(as_text=True)
    assert 'aria-current="step"' in page and "1. Address" in page and "3. Review and pay" in page
    # Steps not reached yet send the reader back to the one to do.
    assert reader.get("/checkout/review").headers["Location"].endswith("/checkout/address")


def test_a_saved_default_address_is_preselected(app, reader):
    with app.app_context():
        user = db.session.scalar(select(User))
        add_address(user, FR_ADDRESS)
        default = add_address(user, US_ADDRESS, make_default=True).id
    page = reader.get("/checkout/address").get_data(as_text=True)
    assert f'value="{default}" checked' in page
    chosen = reader.post("/checkout/address", data={"address_id": default})
    assert chosen.status_code == 303 and chosen.headers["Location"].endswith("/checkout/shipping")


def test_a_bad_postal_code_is_refused_in_place_keeping_what_was_typed(reader):
    refused = choose_address(reader, {**FR_ADDRESS, "postal_code": "ABC"})
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert "Enter a postal code like 75002." in page or "postal code" in page.lower()
    assert 'value="10 rue de Rivoli"' in page and 'value="Paris"' in page
    # With htmx the step swaps in place: the fragment alone, still 422.
    typed = {**FR_ADDRESS, "postal_code": "ABC", "address_id": "new"}
    swapped = reader.post("/checkout/address", data=typed, headers=HTMX)
    assert swapped.status_code == 422 and b"<html" not in swapped.data and b'id="checkout-step"' in swapped.data


def test_a_country_no_zone_covers_is_refused_at_the_address_step(reader):
    japan = {"country_code": "JP", "full_name": "Rosa", "line1": "1-1 Chiyoda", "city": "Chiyoda-ku",
             "country_area": "Tokyo", "postal_code": "100-0001"}  # fmt: skip
    refused = choose_address(reader, japan)
    assert refused.status_code == 422
    assert "We don&#39;t ship to Japan yet" in refused.get_data(as_text=True)


def test_the_shipping_step_lists_the_methods_cheapest_first_and_checked(app, reader):
    choose_address(reader, US_ADDRESS)
    page = reader.get("/checkout/shipping").get_data(as_text=True)
    assert page.index("Standard") < page.index("Express") and "$15.00" in page and "3-5 working days" in page
    with app.app_context():
        standard = method_id("Standard")
    assert f'value="{standard}" checked' in page
    assert reader.post("/checkout/shipping", data={"method_id": "999999"}).status_code == 422


def test_the_review_adds_up_lines_shipping_and_tax_less_the_discount(app, reader):
    order_id, url = checkout(reader, FR_ADDRESS, "Colissimo", code="WELCOME10")
    order = the_order(app, order_id)
    # $40.00 - 10% ($4.00) + $9.00 shipping, TVA 5.5% on $45.00 = $2.48 (half up): $47.48.
    assert (order.subtotal_cents, order.discount_cents, order.shipping_cents, order.tax_cents) == (4000, 400, 900, 248)
    assert order.total_cents == 4748 == 4000 - 400 + 900 + 248
    assert (order.discount_code, order.shipping_method, order.tax_label, order.tax_rate_bp) == (
        "WELCOME10",
        "Colissimo",
        "TVA 5.5%",
        550,
    )
    assert order.ship_to["city"] == "PARIS" or order.ship_to["city"] == "Paris"
    assert "FRANCE" in order.ship_to["lines"]
    assert b"$47.48" in reader.get(url).data  # the payment page charges the review's total


def test_the_review_shows_each_amount_and_the_code_swaps_the_totals(app, reader):
    choose_address(reader, FR_ADDRESS)
    choose_method(reader, "Colissimo")
    page = reader.get("/checkout/review").get_data(as_text=True)
    assert "Subtotal" in page and "$40.00" in page and "TVA 5.5%" in page and "Pay $51.70" in page
    applied = reader.post("/checkout/review", data={"code": "welcome10", "action": "apply"}, headers=HTMX)
    assert applied.status_code == 200 and b"<html" not in applied.data
    assert b"WELCOME10" in applied.data and b"Pay $47.48" in applied.data and b"\xe2\x88\x92$4.00" in applied.data
    removed = reader.post("/checkout/review", data={"code": "WELCOME10", "action": "remove"}, headers=HTMX)
    assert b"Pay $51.70" in removed.data


def test_a_refused_code_is_shown_in_place(reader):
    choose_address(reader, FR_ADDRESS)
    choose_method(reader, "Colissimo")
    refused = reader.post("/checkout/review", data={"code": "NOPE", "action": "apply"}, headers=HTMX)
    assert refused.status_code == 422 and b"We don&#39;t know the code NOPE" in refused.data
    assert b'value="NOPE"' in refused.data and b"Pay $51.70" in refused.data
    without_js = reader.post("/checkout/review", data={"code": "NOPE", "action": "apply"})
    assert without_js.status_code == 422 and b"Check out: Review and pay" in without_js.data


def test_prices_that_include_tax_say_incl(app, reader):
    app.config["PRICES_INCLUDE_TAX"] = True
    try:
        choose_address(reader, FR_ADDRESS)
        choose_method(reader, "Colissimo")
        page = reader.get("/checkout/review").get_data(as_text=True)
    finally:
        app.config["PRICES_INCLUDE_TAX"] = False
    assert "incl. TVA 5.5%" in page and "Pay $49.00" in page  # the tax is inside the $49.00


# ---- Re-checked at every step -------------------------------------------------------------------


def test_an_address_deleted_meanwhile_sends_the_reader_back(app, reader):
    choose_address(reader, US_ADDRESS)
    choose_method(reader, "Standard")
    with app.app_context():
        user = db.session.scalar(select(User))
        delete_address(user, _only_address(user))
    back = reader.get("/checkout/review")
    assert back.status_code == 303 and back.headers["Location"].endswith("/checkout/address")
    assert b"no longer in your address book" in reader.get("/checkout/address").data


def _only_address(user):
    from app.addresses.services import addresses_for

    return addresses_for(user)[0].id


def test_a_method_no_longer_offered_sends_the_reader_back(app, reader):
    choose_address(reader, US_ADDRESS)
    choose_method(reader, "Express")
    with app.app_context():
        disable_method(method_id("Express"))
    back = reader.get("/checkout/review")
    assert back.status_code == 303 and back.headers["Location"].endswith("/checkout/shipping")
    key = pay_key(reader.get("/checkout/shipping").data)
    assert reader.post("/checkout/pay", data={"idempotency_key": key or "k" * 20}).status_code == 303
    with app.app_context():
        assert db.session.scalar(select(func.count(Order.id))) == 0


def test_a_price_change_after_the_order_changes_nothing_paid(app, reader, emma):
    from app.catalogue.services import set_price

    order_id, url = checkout(reader, FR_ADDRESS, "Colissimo")
    with app.app_context():
        set_price(emma, "99.00")
    reader.post(url, data={"action": "pay"})
    order = the_order(app, order_id)
    assert order.status == OrderStatus.PAID and order.total_cents == 5170 and order.subtotal_cents == 4000
    page = reader.get(f"/orders/{order_id}").get_data(as_text=True)
    assert "$51.70" in page and "$99.00" not in page


# ---- The discount's use -------------------------------------------------------------------------


def test_the_code_is_counted_once_and_given_back_when_the_payment_fails(app, reader):
    choose_address(reader, FR_ADDRESS)
    choose_method(reader, "Colissimo")
    reader.post("/checkout/review", data={"code": "WELCOME10", "action": "apply"})
    key = pay_key(reader.get("/checkout/review").data)
    first, again = pay(reader, key), pay(reader, key)  # a double click
    assert first.headers["Location"] == again.headers["Location"]
    assert uses_of(app, "WELCOME10") == 1
    url = first.headers["Location"]
    reader.post(url, data={"action": "decline"})
    assert uses_of(app, "WELCOME10") == 0  # the failed payment gave the use back
    with app.app_context():
        order_id = db.session.scalar(select(Order.id))
    retry = reader.post(f"/orders/{order_id}/pay")
    assert retry.status_code == 303 and uses_of(app, "WELCOME10") == 1  # the new attempt reserves it again
    reader.post(retry.headers["Location"], data={"action": "pay"})
    assert uses_of(app, "WELCOME10") == 1
    with app.app_context():
        assert db.session.scalar(select(func.count(DiscountRedemption.id))) == 1


def test_a_code_used_up_meanwhile_sends_the_reader_back_to_the_review(app, reader):
    with app.app_context():
        create_code("LAST1", amount_cents=500, max_uses=1)
    choose_address(reader, US_ADDRESS)
    choose_method(reader, "Standard")
    reader.post("/checkout/review", data={"code": "LAST1", "action": "apply"})
    key = pay_key(reader.get("/checkout/review").data)
    with app.app_context():
        db.session.execute(db.update(DiscountCode).where(DiscountCode.code == "LAST1").values(uses=1))
        db.session.commit()
    back = pay(reader, key)
    assert back.status_code == 303 and back.headers["Location"].endswith("/checkout/review")
    page = reader.get("/checkout/review").get_data(as_text=True)
    assert "This code has been used up" in page
    with app.app_context():
        assert db.session.scalar(select(func.count(Order.id))) == 0


# ---- Guests -------------------------------------------------------------------------------------


def test_a_visitor_checks_out_with_an_email(app, client, emma):
    assert client.post("/cart/add", data={"book_id": emma, "quantity": 1}).status_code == 303
    missing = choose_address(client, US_ADDRESS)
    assert missing.status_code == 422 and b"Enter the email address we send your receipt to." in missing.data
    assert choose_address(client, US_ADDRESS, email="Guest@Example.com").status_code == 303
    assert choose_method(client, "Standard").status_code == 303
    response = pay(client)
    assert response.status_code == 303
    with app.app_context():
        order = db.session.scalar(select(Order))
        assert (order.user_id, order.guest_email, order.total_cents) == (None, "guest@example.com", 2000)
        assert order.ship_to["full_name"] == "Rosa Reader"


def test_a_guest_uses_a_per_customer_code_once_by_email(app, client, emma):
    with app.app_context():
        order = Order(user_id=None, guest_email="guest@example.com", status="paid", gateway="simulated", total_cents=1)
        db.session.add(order)
        db.session.flush()
        code = db.session.scalar(select(DiscountCode).where(DiscountCode.code == "WELCOME10"))
        db.session.add(DiscountRedemption(code_id=code.id, order_id=order.id, user_id=None, email="guest@example.com"))
        db.session.commit()
    client.post("/cart/add", data={"book_id": emma, "quantity": 1})
    choose_address(client, US_ADDRESS, email="guest@example.com")
    choose_method(client, "Standard")
    refused = client.post("/checkout/review", data={"code": "WELCOME10", "action": "apply"})
    assert refused.status_code == 422 and b"You have already used this code" in refused.data


# ---- Queries ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/checkout/address", "/checkout/shipping", "/checkout/review"])
def test_each_step_runs_the_same_number_of_queries_whatever_the_cart(app, reader, count_queries, path):
    choose_address(reader, FR_ADDRESS)
    choose_method(reader, "Colissimo")
    reader.post("/checkout/review", data={"code": "WELCOME10", "action": "apply"})
    reader.get(path)
    with count_queries() as one:
        assert reader.get(path).status_code == 200
    with app.app_context():
        more = make_books([{"title": f"Book {n}", "price": "5.00", "stock": 3} for n in range(4)])
        ids = [b.id for b in more]
    for book_id in ids:
        reader.post("/cart/add", data={"book_id": book_id, "quantity": 1})
    reader.get(path)  # as before the first count: the reader's snapshot, dropped by the cart change, is back
    with count_queries() as many:
        assert reader.get(path).status_code == 200
    assert many.count == one.count


# ---- Books for a club ---------------------------------------------------------------------------


@pytest.fixture
def wished(app, emma):
    """Night Owls (Lisbon, Portugal) wants Emma; returns (slug, wishlist item id)."""
    from app.clubs.services import create_club
    from app.donations.shelf import add_to_wishlist

    with app.app_context():
        owner = make_user(email="owner@example.com", name="Olga Owner")
        club = create_club(owner, name="Night Owls", city="Lisbon", country="Portugal", visibility="public")
        return club.slug, add_to_wishlist(club, emma).id


def test_a_club_without_a_delivery_address_cannot_be_sent_a_gift(app, reader, wished):
    slug, item_id = wished
    refused = reader.get(f"/clubs/{slug}/wishlist/{item_id}/buy", follow_redirects=True)
    assert "Night Owls has no delivery address yet; its owner can add one." in refused.get_data(as_text=True)
    assert reader.post(f"/clubs/{slug}/wishlist/{item_id}/buy").status_code == 303
    with app.app_context():
        assert db.session.scalar(select(func.count(Order.id))) == 0


def test_a_gift_ships_to_the_clubs_address_without_showing_it(app, reader, wished):
    from app.models import Club
    from tests.shop import ready_to_receive

    slug, item_id = wished
    with app.app_context():
        ready_to_receive(db.session.scalar(select(Club)))
        express = db.session.scalar(
            select(ShippingMethod.id)
            .join(ShippingZone)
            .where(ShippingZone.name == "Portugal", ShippingMethod.name == "Express")
        )
    confirm = reader.get(f"/clubs/{slug}/wishlist/{item_id}/buy").get_data(as_text=True)
    assert "Ships to Night Owls's delivery address." in confirm and "Rua Augusta" not in confirm
    assert "Confirm and pay $20.00" in confirm  # the cheapest method (free) checked
    pricier = reader.get(f"/clubs/{slug}/wishlist/{item_id}/buy?method_id={express}").get_data(as_text=True)
    assert "Confirm and pay $27.00" in pricier
    response = reader.post(f"/clubs/{slug}/wishlist/{item_id}/buy", data={"method_id": express})
    assert response.status_code == 303
    with app.app_context():
        order = db.session.scalar(select(Order))
        assert order.ship_to["line1"] == "Rua Augusta 1" and order.ship_to["country_code"] == "PT"
        assert (order.shipping_method, order.shipping_cents, order.total_cents) == ("Express", 700, 2700)
    page = reader.get(f"/orders/{order.id}").get_data(as_text=True)
    assert "Night Owls&#39;s delivery address" in page and "Rua Augusta" not in page


def test_a_fund_purchase_ships_to_the_club_and_the_fund_pays_shipping(app, wished):
    from app.donations.fund import add_entry, fund_balance, lock_fund
    from app.donations.shelf import ShelfError, buy_from_fund
    from app.models import Club, FundEntry
    from tests.shop import LISBON_ADDRESS, ships_to_portugal

    slug, item_id = wished
    with app.app_context():
        club = db.session.scalar(select(Club))
        owner = db.session.scalar(select(User).where(User.email == "owner@example.com"))
        lock_fund(club.id)
        add_entry(club.id, FundEntry.DONATION, 5000, "A donation")
        db.session.commit()
        with pytest.raises(ShelfError, match="Night Owls has no delivery address yet"):
            buy_from_fund(club, owner, [item_id])
        from app.addresses.services import set_club_delivery_address

        ships_to_portugal()
        db.session.execute(db.update(ShippingMethod).where(ShippingMethod.name == "Standard").values(amount_cents=350))
        db.session.commit()
        set_club_delivery_address(club, None, LISBON_ADDRESS)
        order = buy_from_fund(club, owner, [item_id])
        assert (
            order.ship_to["city"].upper() == "LISBOA" and order.ship_to["shown_as"] == "Night Owls's delivery address"
        )
        assert (order.shipping_method, order.shipping_cents, order.total_cents) == ("Standard", 350, 2350)
        assert fund_balance(club.id) == 5000 - 2350


def test_an_expired_checkout_gives_the_code_back_once(app, reader):
    from app.payments.fulfilment import handle_event
    from app.payments.simulated import simulated_event

    order_id, url = checkout(reader, FR_ADDRESS, "Colissimo", code="WELCOME10")
    assert uses_of(app, "WELCOME10") == 1
    session_id = url.rsplit("/", 1)[-1]
    with app.app_context():
        for _ in range(2):  # the gateway reports it twice: given back once
            handle_event(
                "simulated", simulated_event("checkout.session.expired", session_id, f"order:{order_id}", 0, False)
            )
    assert uses_of(app, "WELCOME10") == 0
    assert the_order(app, order_id).status == OrderStatus.EXPIRED
