"""Share cards: the 1200x630 PNG that links to a club, a contest or a book show when shared."""

from __future__ import annotations

import textwrap
from io import BytesIO

from app.catalogue.covers import cover_colour

WIDTH, HEIGHT = 1200, 630
MARGIN = 80
TITLE_LINE_CHARS = 26
TITLE_MAX_LINES = 3
SITE_NAME = "Book Commerce"


def _title_lines(title: str) -> list[str]:
    lines = textwrap.wrap(title, TITLE_LINE_CHARS, break_long_words=True) or [""]
    if len(lines) > TITLE_MAX_LINES:
        lines = lines[:TITLE_MAX_LINES]
        lines[-1] = lines[-1][: TITLE_LINE_CHARS - 1].rstrip() + "…"
    return lines


def draw_card(kicker: str, title: str, subtitle: str = "") -> bytes:
    """A PNG card: a small ``kicker`` (what it is), the title, a subtitle, on the title's colour."""
    from PIL import Image, ImageDraw, ImageFont  # Pillow when a card is drawn (cards are cached), not at start

    image = Image.new("RGB", (WIDTH, HEIGHT), cover_colour(title))
    draw = ImageDraw.Draw(image)
    draw.rectangle([24, 24, WIDTH - 24, HEIGHT - 24], outline=(255, 255, 255), width=3)
    small = ImageFont.load_default(size=34)
    big = ImageFont.load_default(size=68)
    draw.text((MARGIN, MARGIN), kicker.upper(), font=small, fill=(255, 255, 255))
    y = 190
    for line in _title_lines(title):
        draw.text((MARGIN, y), line, font=big, fill=(255, 255, 255))
        y += 84
    if subtitle:
        draw.text((MARGIN, y + 20), subtitle[:60], font=small, fill=(235, 235, 235))
    draw.text((MARGIN, HEIGHT - MARGIN - 34), SITE_NAME, font=small, fill=(255, 255, 255))
    out = BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()
