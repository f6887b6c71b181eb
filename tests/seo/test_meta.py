"""What search engines and link previews read: descriptions, canonical links, Open Graph, JSON-LD,
share cards, the sitemap and robots.txt."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from io import BytesIO

import pytest
from PIL import Image

from app.catalogue.services import remove_book
from app.clubs.services import create_club
from app.contests.services import create_contest, open_contest
from app.extensions import cache
from app.models import ContestKind, Metric
from tests.factories import make_book, many_books
from tests.helpers import make_user

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(autouse=True)
def fresh_cache(app):
    """Share cards and drawn covers are cached by id, and ids start again in every test."""
    with app.app_context():
        cache.clear()


def page(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def meta(html: str, name: str) -> str | None:
    found = re.search(rf'<meta (?:name|property)="{re.escape(name)}" content="([^"]*)"', html)
    return found.group(1) if found else None


def canonical(html: str) -> str | None:
    found = re.search(r'<link rel="canonical" href="([^"]*)"', html)
    return found.group(1) if found else None


def json_ld(html: str) -> list[dict]:
    return [
        json.loads(block) for block in re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    ]


def make_club(name="Paris Readers", **fields):
    owner = make_user(email=f"owner-{name.split()[0].lower()}@example.com", name="Olga Owner")
    fields.setdefault("description", "We read the classics by the Seine.")
    return create_club(owner, name=name, city="Paris", country="France", **fields)


def make_contest(title="November pages", opened=True):
    contest = create_contest(
        title=title,
        kind=ContestKind.READERS,
        metric=Metric.BOOKS_READ,
        starts_at=NOW - timedelta(days=1),
        ends_at=NOW + timedelta(days=6),
        provisional_hours=0,
    )
    if opened:
        open_contest(contest)
    return contest


@pytest.mark.parametrize("url", ["/", "/books", "/clubs", "/contests"])
def test_every_public_page_has_a_description_canonical_link_and_share_tags(client, url):
    html = page(client, url)
    assert len(meta(html, "description")) > 40
    assert canonical(html) == f"http://localhost{url}"
    for name in ("og:title", "og:description", "og:url", "og:image", "twitter:card", "twitter:image"):
        assert meta(html, name), name
    assert meta(html, "og:image").startswith("http://localhost/share/")


def test_canonical_links_drop_tracking_arguments_and_keep_the_books_genre_and_page(client):
    html = page(client, "/books?genre=poetry&utm_source=mail&fbclid=x")
    assert canonical(html) == "http://localhost/books?genre=poetry"
    assert canonical(page(client, "/clubs?utm_campaign=autumn")) == "http://localhost/clubs"


def test_book_page_has_its_description_cover_and_a_book_offer_in_json_ld(app, app_ctx, client):
    book = make_book(
        title="Evil </script><script>alert(1)</script>",
        authors="Mary Shelley",
        description="A scientist makes a creature & regrets it.",
        price="12.99",
        stock=3,
        publisher="Penguin",
        year="2003",
    )
    book = (book.id, book.slug, book.title, book.isbn13)
    sold_out = make_book(title="Dracula", isbn="9780141439846", stock=0, price="8.50")
    sold_out = (sold_out.id, sold_out.slug)
    book_id, slug, title, isbn13 = book
    html = page(client, f"/books/{book_id}/{slug}?utm_source=newsletter")
    assert meta(html, "description") == "A scientist makes a creature &amp; regrets it."
    assert canonical(html) == f"http://localhost/books/{book_id}/{slug}"
    assert meta(html, "og:type") == "book"
    assert meta(html, "og:image") == f"http://localhost/share/book/{book_id}.png"
    assert html.count("<script>alert(1)") == 0  # neither in the JSON-LD nor anywhere else
    [data] = json_ld(html)
    assert data["@type"] == "Book" and data["name"] == title and data["isbn"] == isbn13
    assert data["author"] == [{"@type": "Person", "name": "Mary Shelley"}]
    assert data["offers"] == {
        "@type": "Offer",
        "url": f"http://localhost/books/{book_id}/{slug}",
        "price": "12.99",
        "priceCurrency": "USD",
        "availability": "https://schema.org/InStock",
    }
    [data] = json_ld(page(client, "/books/{}/{}".format(*sold_out)))
    assert data["offers"]["availability"] == "https://schema.org/OutOfStock" and data["offers"]["price"] == "8.50"


def test_a_book_with_an_uploaded_cover_shares_that_cover(app, app_ctx, client, tmp_path):
    book = make_book(title="Emma")
    Image.new("RGB", (400, 600), (10, 20, 30)).save(tmp_path / "emma.jpg")
    assert app.test_cli_runner().invoke(args=["books", "cover", book.isbn13, str(tmp_path / "emma.jpg")]).exit_code == 0
    html = page(client, f"/books/{book.id}/{book.slug}")
    image = meta(html, "og:image")
    assert re.fullmatch(r"http://localhost/media/covers/\w\w/\w+-320\.jpg", image)
    assert json_ld(html)[0]["image"] == image and meta(html, "twitter:card") == "summary"


def test_club_page_is_an_organization_with_a_share_card(app, app_ctx, client):
    club = make_club()
    html = page(client, f"/clubs/{club.slug}?ref=twitter")
    assert meta(html, "description") == "We read the classics by the Seine."
    assert canonical(html) == f"http://localhost/clubs/{club.slug}"
    assert meta(html, "og:image") == f"http://localhost/share/club/{club.slug}.png"
    assert 'name="robots"' not in html
    [data] = json_ld(html)
    assert data["@type"] == "Organization" and data["name"] == "Paris Readers"
    assert data["address"]["addressLocality"] == "Paris" and data["url"] == f"http://localhost/clubs/{club.slug}"


def test_a_private_club_page_keeps_its_description_and_asks_not_to_be_indexed(app, app_ctx, client):
    club = make_club("Secret Circle", description="Our hidden reading notes.", visibility="private")
    html = page(client, f"/clubs/{club.slug}")
    assert "hidden reading notes" not in html
    assert '<meta name="robots" content="noindex">' in html and json_ld(html) == []


def test_contest_page_shares_its_card(app, app_ctx, client):
    contest = make_contest()
    html = page(client, f"/contests/{contest.id}")
    assert meta(html, "og:title") == "November pages"
    assert meta(html, "og:image") == f"http://localhost/share/contest/{contest.id}.png"
    assert canonical(html) == f"http://localhost/contests/{contest.id}"


def test_share_cards_are_1200_by_630_pngs_cached_by_etag(app, app_ctx, client):
    club = make_club()
    contest = make_contest()
    draft = make_contest("Secret draft", opened=False)
    book = make_book(title="Emma")
    for url in (f"/share/club/{club.slug}.png", f"/share/contest/{contest.id}.png", f"/share/book/{book.id}.png"):
        response = client.get(url)
        assert response.status_code == 200 and response.mimetype == "image/png", url
        assert Image.open(BytesIO(response.data)).size == (1200, 630)
        assert response.headers["Cache-Control"] == "public, max-age=86400"
        assert client.get(url, headers={"If-None-Match": response.headers["ETag"]}).status_code == 304
    assert client.get(f"/share/contest/{draft.id}.png").status_code == 404
    assert client.get("/share/club/no-such-club.png").status_code == 404
    assert client.get("/share/book/abc.png").status_code == 404
    assert client.get("/share/site.png").status_code == 200


def test_sitemap_lists_books_public_clubs_and_contests_only(app, app_ctx, client):
    book = make_book(title="Emma")
    gone = make_book(title="Withdrawn", isbn="9780141439846")
    remove_book(gone.id)
    club = make_club()
    private = make_club("Secret Circle", visibility="private")
    contest = make_contest()
    draft = make_contest("Secret draft", opened=False)
    response = client.get("/sitemap.xml")
    assert response.status_code == 200 and response.mimetype == "application/xml"
    xml = response.get_data(as_text=True)
    assert xml.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    locs = re.findall(r"<loc>([^<]+)</loc>", xml)
    assert f"http://localhost/books/{book.id}/{book.slug}" in locs
    assert f"http://localhost/clubs/{club.slug}" in locs
    assert f"http://localhost/contests/{contest.id}" in locs
    assert not [loc for loc in locs if gone.slug in loc or private.slug in loc or loc.endswith(f"/contests/{draft.id}")]
    assert "http://localhost/books" in locs and "http://localhost/" in locs


def test_sitemap_runs_the_same_queries_for_one_book_or_thirty(app, app_ctx, client, count_queries):
    make_book(title="Emma")
    make_club()
    with count_queries() as few:
        client.get("/sitemap.xml")
    many_books(30)
    make_club("Lyon Readers")
    with count_queries() as many:
        assert client.get("/sitemap.xml").get_data(as_text=True).count("<url>") == 4 + 31 + 2
    assert many.count == few.count <= 4


def test_robots_txt_keeps_crawlers_out_of_private_pages_and_names_the_sitemap(client):
    response = client.get("/robots.txt")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    lines = response.get_data(as_text=True).splitlines()
    for path in ("/account", "/cart", "/checkout", "/orders", "/api/", "/notifications"):
        assert f"Disallow: {path}" in lines
    assert "Sitemap: http://localhost/sitemap.xml" in lines
    assert "Disallow: /" not in lines and "Disallow: /books" not in lines


def test_the_favicon_is_served_at_the_root(client):
    # Browsers ask for /favicon.ico on every site; a 404 shows as a console error on every page.
    response = client.get("/favicon.ico")
    assert response.status_code == 200 and response.data[:4] == b"\x00\x00\x01\x00"
    assert response.headers["Cache-Control"] == "public, max-age=86400"
    response.close()
