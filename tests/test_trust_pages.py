"""The shop's own pages, its identity in the footer, receipts and order pages, the icon, the menu."""

import pytest

from app import create_app
from tests.conftest import make_config
from tests.factories import make_books
from tests.helpers import login_as, make_user
from tests.orders.test_checkout import checkout, fill_cart
from tests.shop import open_shop

TRUST_PAGES = {
    "/about": "About us",
    "/contact": "Contact",
    "/terms": "Terms of sale",
    "/privacy": "Privacy",
    "/shipping": "Shipping",
    "/refunds": "Refunds and returns",
}
IDENTITY = ("Book Commerce Ltd (demo)", "1 Example Street", "VAT GB000000000", "support@bookcommerce.local")


@pytest.mark.parametrize(("path", "title"), TRUST_PAGES.items())
def test_each_trust_page_is_served_with_its_title_and_linked_from_the_footer(client, path, title):
    response = client.get(path)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert f"<title>{title} · Book Commerce</title>" in page
    assert f"<h1>{title}</h1>" in page
    footer = page[page.index('<footer class="container site-footer">') :]
    assert f'href="{path}"' in footer


def test_the_markdown_is_rendered(client):
    page = client.get("/refunds").get_data(as_text=True)
    assert "<h2>Changing your mind</h2>" in page and "<p>You may cancel an order within 14 days" in page


def test_an_operator_page_in_the_instance_folder_wins_and_is_sanitised(base_settings, tmp_path):
    (tmp_path / "pages").mkdir()
    (tmp_path / "pages" / "terms.md").write_text(
        "# ignored\n\nOur **own** terms.\n\n<script>alert('x')</script>\n\n"
        '[click](javascript:alert(1)) <img src=x onerror="alert(2)">\n',
        encoding="utf-8",
    )
    application = create_app(make_config(**base_settings, INSTANCE_PATH=str(tmp_path)))
    whole = application.test_client().get("/terms").get_data(as_text=True)
    page = whole[whole.index('<article class="trust-page">') : whole.index("</article>")]
    assert "Our <strong>own</strong> terms." in page
    assert "Your order is accepted" not in page  # the built-in text gave way
    # Raw HTML shows as text, never as markup; a javascript: link is not made a link.
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    assert "<img" not in page and 'href="javascript:' not in page
    # The other pages keep the built-in text.
    assert "Changing your mind" in application.test_client().get("/refunds").get_data(as_text=True)


def test_the_sanitiser_keeps_text_markup_and_drops_the_rest():
    from app.pages.content import clean_html

    html = clean_html(
        '<h2>Hi</h2><a href="/x" onclick="steal()">link</a><script>bad()</script><iframe src="//e"></iframe>'
    )
    assert html == '<h2>Hi</h2><a href="/x" rel="noopener noreferrer">link</a>'


def test_an_unknown_page_is_not_found(client):
    assert client.get("/imprint").status_code == 404


def test_the_footer_shows_who_runs_the_shop(client):
    page = client.get("/").get_data(as_text=True)
    footer = page[page.index('<footer class="container site-footer">') :]
    for fact in IDENTITY:
        assert fact in footer


def test_the_business_identity_comes_from_the_settings(base_settings):
    application = create_app(
        make_config(
            **base_settings, BUSINESS_NAME="Folio & Friends GmbH", BUSINESS_REGISTRATION="USt-IdNr. DE123456789"
        )
    )
    page = application.test_client().get("/about").get_data(as_text=True)
    assert "Folio &amp; Friends GmbH" in page and "USt-IdNr. DE123456789" in page


def test_the_order_page_and_the_receipt_name_the_seller(app, client, inbox):
    with app.app_context():
        open_shop()
        make_user()
        (book,) = make_books([{"title": "Middlemarch", "price": "11.00", "stock": 4}])
        book_id = book.id
    login_as(client)
    fill_cart(client, (book_id, 1))
    order_id, url = checkout(client)
    paid = client.post(url, data={"action": "pay"}, follow_redirects=True).get_data(as_text=True)
    assert "Sold by" in paid
    for fact in IDENTITY:
        assert fact in paid
    receipt = inbox.wait_for("reader@example.com")[0]
    assert receipt["Subject"] == f"Your Book Commerce receipt for order #{order_id}"
    text = receipt.get_body(preferencelist=("plain",)).get_content()
    html = receipt.get_body(preferencelist=("html",)).get_content()
    for fact in IDENTITY:
        assert fact in text, fact
        assert fact in html, fact


def test_the_donation_receipt_names_the_shop(app, inbox):
    from tests.donations import give, open_club, reader

    slug = open_club(app, goal_cents=50_000)
    donor = reader(app, "donor@example.com", "Dora Donor")
    gateway = give(donor, slug, "25").headers["Location"]
    donor.post(gateway, data={"action": "pay"})
    receipt = next(m for m in inbox.wait_for("donor@example.com") if m["Subject"].startswith("Thank you"))
    text = receipt.get_body(preferencelist=("plain",)).get_content()
    html = receipt.get_body(preferencelist=("html",)).get_content()
    for fact in IDENTITY:
        assert fact in text and fact in html, fact


def test_the_favicon_is_served(client):
    assert client.get("/favicon.ico").status_code == 200
    page = client.get("/").get_data(as_text=True)
    assert 'rel="icon" href="/static/favicon.svg"' in page
    assert client.get("/static/favicon.svg").status_code == 200
    assert '<img src="/static/img/logo.svg"' in page


def test_the_menu_opens_without_javascript_for_a_visitor(client):
    page = client.get("/").get_data(as_text=True)
    menu = page[page.index('<details class="site-menu">') : page.index("</details>")]
    assert "<summary>Menu</summary>" in menu
    for link in ('href="/books"', 'href="/clubs"', 'href="/contests"', 'href="/cart"', 'href="/auth/login"'):
        assert link in menu
    assert 'id="cart-count"' in menu


def test_the_menu_holds_every_link_for_a_reader(app, client):
    with app.app_context():
        make_user()
    login_as(client)
    page = client.get("/account/reading").get_data(as_text=True)
    menu = page[page.index('<details class="site-menu">') : page.index("</details>")]
    for text in (
        "Books",
        "Clubs",
        "Contests",
        "Reading log",
        "Cart",
        "Orders",
        "Notifications",
        "Rosa Reader",
        "Log out",
    ):
        assert text in menu, text
    assert 'href="/account/reading" aria-current="page">Reading log' in menu
    assert 'id="notification-badge" hx-get="/notifications/badge"' in menu


def test_the_shell_gets_no_menu_and_no_footer(client):
    page = client.get("/about", headers={"User-Agent": "Mozilla/5.0 BookCommerceShell/1.0"}).get_data(as_text=True)
    assert "site-menu" not in page and "site-footer" not in page
    assert "<h1>About us</h1>" in page
