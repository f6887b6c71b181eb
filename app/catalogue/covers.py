"""Book covers: an uploaded image becomes resized, content-hashed files; other books get a drawn one.

An uploaded image is made into ``WIDTHS`` wide versions in WebP and JPEG under
``MEDIA_ROOT/covers/``, named after the hash of the original bytes: a file never changes once
written, so browsers and nginx may keep it for ever. The book keeps the hash and the size of the
widest version; pages build every ``<picture>`` from that alone (no query, no file system).

A book without an image gets a cover drawn as SVG from its title and authors, on a colour chosen
from the title (the same title always gets the same colour).
"""

from __future__ import annotations

import colorsys
import hashlib
import os
import tempfile
import textwrap
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING

from flask import current_app

from app.catalogue.caching import invalidate_books
from app.catalogue.services import CatalogueError, find_book
from app.extensions import db
from app.models import Book

if TYPE_CHECKING:
    from PIL import Image

WIDTHS = (160, 320)
# (file suffix, Pillow format, save options): WebP for browsers that take it, JPEG for the rest.
FORMATS = (
    ("webp", "WEBP", {"quality": 80, "method": 4}),
    ("jpg", "JPEG", {"quality": 82, "optimize": True, "progressive": True}),
)
KEY_LENGTH = 20  # hex digits of the SHA-256: enough never to collide in one catalogue
TITLE_LINE_CHARS = 16
TITLE_MAX_LINES = 5


class CoverError(CatalogueError):
    """An image that cannot be a cover; the message says why."""


@dataclass(frozen=True)
class StoredCover:
    key: str
    width: int  # of the widest version
    height: int


def cover_file(key: str, width: int, suffix: str) -> str:
    """The path of one version under MEDIA_ROOT (also its URL under /media/)."""
    return f"covers/{key[:2]}/{key}-{width}.{suffix}"


def _decode(data: bytes, max_pixels: int) -> Image.Image:
    """The image in ``data``, upright and in RGB; CoverError when it is not one or too large."""
    from PIL import Image, ImageOps, UnidentifiedImageError  # Pillow only in the few requests that upload a cover

    try:
        image = Image.open(BytesIO(data))
        if image.width * image.height > max_pixels:
            raise CoverError(
                f"the image is {image.width}x{image.height} pixels; a cover can have at most {max_pixels:,} pixels"
            )
        image.load()
    except CoverError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError) as exc:
        raise CoverError("the file is not an image Pillow can read (JPEG, PNG, WebP or GIF)") from exc
    image = ImageOps.exif_transpose(image)
    if image.mode in ("RGBA", "LA", "P"):
        # Transparent parts become white, as on a page.
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, "white")
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image.convert("RGB")


def _write_atomically(target: Path, image: Image.Image, image_format: str, options: dict) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as stream:
            image.save(stream, image_format, **options)
        os.replace(tmp, target)  # a reader sees the whole file or none
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def store_cover_image(data: bytes) -> StoredCover:
    """Make the resized versions of an uploaded image under MEDIA_ROOT; returns what the book keeps.

    Raises CoverError for a file that is too large, not an image, or has too many pixels.
    Storing the same image twice writes nothing new.
    """
    config = current_app.config
    if len(data) > config["COVER_MAX_BYTES"]:
        raise CoverError(
            f"the file is {len(data) / 1_048_576:.1f} MB; a cover can be at most "
            f"{config['COVER_MAX_BYTES'] / 1_048_576:.0f} MB"
        )
    image = _decode(data, config["COVER_MAX_PIXELS"])
    from PIL import Image  # loaded by _decode already

    key = hashlib.sha256(data).hexdigest()[:KEY_LENGTH]
    root = Path(config["MEDIA_ROOT"])
    height = width = 0
    for width in WIDTHS:
        height = max(1, round(image.height * width / image.width))
        resized = image.resize((width, height), Image.Resampling.LANCZOS)
        for suffix, image_format, options in FORMATS:
            target = root / cover_file(key, width, suffix)
            if not target.exists():
                _write_atomically(target, resized, image_format, options)
    return StoredCover(key=key, width=width, height=height)


def read_cover_file(path: str | Path) -> bytes:
    """The bytes of a local image file; CoverError when it is missing or too large to be a cover."""
    path = Path(path)
    if not path.is_file():
        raise CoverError(f"no image file {path}")
    limit = current_app.config["COVER_MAX_BYTES"]
    size = path.stat().st_size
    if size > limit:
        raise CoverError(f"{path.name} is {size / 1_048_576:.1f} MB; a cover can be at most {limit / 1_048_576:.0f} MB")
    return path.read_bytes()


def set_cover(isbn_or_id: str | int, path: str | Path) -> Book:
    """Give a book the image at ``path`` as its cover (the CLI and the demo seed use this)."""
    book = find_book(isbn_or_id)
    stored = store_cover_image(read_cover_file(path))
    book.cover_key, book.cover_width, book.cover_height = stored.key, stored.width, stored.height
    db.session.commit()
    invalidate_books([book.id])
    return book


# ---- Generated covers -------------------------------------------------------------------------


def cover_colour(title: str) -> str:
    """A dark colour (white text stays readable on it) chosen from the title: same title, same colour."""
    digest = hashlib.sha256(title.strip().lower().encode()).digest()
    hue = int.from_bytes(digest[:2], "big") / 65536
    red, green, blue = colorsys.hls_to_rgb(hue, 0.30, 0.45)
    return f"#{round(red * 255):02x}{round(green * 255):02x}{round(blue * 255):02x}"


def wrap_title(title: str, width: int = TITLE_LINE_CHARS, max_lines: int = TITLE_MAX_LINES) -> list[str]:
    """The title in lines of about ``width`` characters; a longer one ends with an ellipsis."""
    lines = textwrap.wrap(title, width=width, break_long_words=True) or [""]
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][: width - 1].rstrip() + "…"
    return lines
