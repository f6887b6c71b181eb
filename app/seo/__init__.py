"""Found and shared: robots.txt, the sitemap, share cards, and what pages put in their <head>
(canonical links, Open Graph and schema.org data; templates/seo/_meta.html)."""

from flask import Blueprint

bp = Blueprint("seo", __name__)

from app.seo import views  # noqa: E402,F401
