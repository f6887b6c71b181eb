"""Canonical links and share images, as the pages' <head> names them (Jinja globals)."""

from __future__ import annotations

from flask import current_app, request, url_for

from app.catalogue.covers import cover_file


def canonical_url(*keep: str) -> str:
    """This page's absolute address on BASE_URL, with only the query arguments in ``keep``.

    Tracking arguments (utm_*, fbclid...) and filters a page does not name are left out, so every
    variant of a page points search engines at one address.
    """
    args = {name: request.args[name] for name in keep if request.args.get(name)}
    if request.endpoint and request.url_rule is not None:
        return url_for(request.endpoint, **(request.view_args or {}), **args, _external=True)
    return current_app.config["BASE_URL"].rstrip("/") + request.path


def book_share_image(book) -> str:
    """The uploaded cover (its larger JPEG), else the drawn share card: absolute, for og:image."""
    if book.cover_key:
        return url_for("main.media", filename=cover_file(book.cover_key, 320, "jpg"), _external=True)
    return url_for("seo.card", kind="book", ref=book.id, _external=True)
