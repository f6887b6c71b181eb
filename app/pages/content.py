"""Trust pages written in Markdown: the repository's text, or the operator's own in instance/pages/.

The operator's file wins, so a shop can state its real terms without editing the code. Markdown is
rendered with markdown-it-py and the HTML is cleaned with nh3: a page file cannot carry a script.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from flask import current_app
from markupsafe import Markup

BUILT_IN = Path(__file__).resolve().parent / "content"
# The pages there are, in footer order, with their titles.
PAGES = {
    "about": "About us",
    "contact": "Contact",
    "shipping": "Shipping",
    "refunds": "Refunds and returns",
    "terms": "Terms of sale",
    "privacy": "Privacy",
}
ALLOWED_TAGS = {
    "a", "abbr", "blockquote", "br", "code", "dd", "dl", "dt", "em", "h2", "h3", "h4", "hr", "li", "ol",
    "p", "pre", "strong", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip


@cache
def _markdown():
    """The parser, built on the first page shown: most workers never serve one of these pages."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False}).enable("table")


@dataclass(frozen=True)
class TrustPage:
    name: str
    title: str
    body: Markup


def page_source(name: str) -> str | None:
    """The Markdown for ``name``: instance/pages/<name>.md if the operator wrote one, else ours."""
    if name not in PAGES:
        return None
    override = Path(current_app.instance_path) / "pages" / f"{name}.md"
    source = override if override.is_file() else BUILT_IN / f"{name}.md"
    return source.read_text(encoding="utf-8")


def render_markdown(text: str) -> Markup:
    """Markdown to HTML that is safe to show. Raw HTML in the Markdown comes out as text; nh3 then
    keeps only plain text markup, in case the parser's settings ever change."""
    return clean_html(_markdown().render(text))


def clean_html(html: str) -> Markup:
    import nh3  # loaded with the first page shown, like the parser

    return Markup(nh3.clean(html, tags=ALLOWED_TAGS, attributes={"a": {"href", "title"}, "th": {"scope"}}))


def trust_page(name: str) -> TrustPage | None:
    """The page called ``name``, rendered; None for a page that does not exist."""
    text = page_source(name)
    if text is None:
        return None
    return TrustPage(name=name, title=PAGES[name], body=render_markdown(text))
