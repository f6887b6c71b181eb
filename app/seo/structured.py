"""schema.org data for the pages' JSON-LD: a dict each, dumped by the template with |tojson
(which escapes <, > and &, so no text can close the <script>)."""

from __future__ import annotations

from typing import Any

from flask import url_for

from app.seo.links import book_share_image

CURRENCY = "USD"  # the shop charges in US dollars (app/payments/gateway.py)


def book_schema(book) -> dict[str, Any]:
    """A Book with its Offer: price and availability (``authors`` must be loaded)."""
    url = url_for("catalogue.book", book_id=book.id, slug=book.slug, _external=True)
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Book",
        "name": book.title,
        "url": url,
        "isbn": book.isbn13,
        "image": book_share_image(book),
        "inLanguage": book.language,
        "author": [{"@type": "Person", "name": author.name} for author in book.authors],
        "offers": {
            "@type": "Offer",
            "url": url,
            "price": f"{book.price_cents // 100}.{book.price_cents % 100:02d}",
            "priceCurrency": CURRENCY,
            "availability": "https://schema.org/InStock" if book.in_stock else "https://schema.org/OutOfStock",
        },
    }
    if book.description:
        data["description"] = book.description
    if book.publisher:
        data["publisher"] = {"@type": "Organization", "name": book.publisher}
    if book.year:
        data["datePublished"] = str(book.year)
    return data


def club_schema(club) -> dict[str, Any]:
    """A club as an Organization, with its town."""
    address = {"@type": "PostalAddress", "addressLocality": club.city, "addressCountry": club.country}
    if club.region:
        address["addressRegion"] = club.region
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Organization",
        "name": club.name,
        "url": url_for("clubs.show", slug=club.slug, _external=True),
        "logo": url_for("seo.card", kind="club", ref=club.slug, _external=True),
        "address": address,
    }
    if club.description:
        data["description"] = club.description
    return data
