"""Book covers: `flask books cover`, the import's cover_file column, the pages' <picture>, drawn covers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PIL import Image

from app.catalogue.covers import cover_colour, wrap_title
from app.extensions import cache, db
from app.models import Book
from tests.factories import isbn_for, make_book, many_books

HEADER = "isbn,title,authors,price,stock,cover_file\n"


@pytest.fixture(autouse=True)
def fresh_cache(app):
    """Drawn covers are cached by book id, and ids start again in every test."""
    with app.app_context():
        cache.clear()


def make_image(path: Path, size=(600, 900), image_format="JPEG", colour=(120, 40, 60)) -> Path:
    Image.new("RGB", size, colour).save(path, image_format)
    return path


def run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def one_line_error(result) -> str:
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    return lines[0]


def media_files(app) -> list[Path]:
    return sorted(p for p in Path(app.config["MEDIA_ROOT"]).rglob("*") if p.is_file())


def test_cover_command_makes_webp_and_jpeg_160_and_320_wide(app, tmp_path):
    with app.app_context():
        book = make_book(title="Emma")
    result = run(app, "books", "cover", book.isbn13, str(make_image(tmp_path / "emma.jpg")))
    assert result.exit_code == 0, result.output
    assert "Emma" in result.output and "320x480" in result.output
    with app.app_context():
        stored = db.session.get(Book, book.id)
        assert (stored.cover_width, stored.cover_height) == (320, 480)
        key = stored.cover_key
    made = {p.name: p for p in media_files(app) if key in p.name}
    assert sorted(made) == sorted(f"{key}-{w}.{s}" for w in (160, 320) for s in ("webp", "jpg"))
    for name, path in made.items():
        with Image.open(path) as image:
            width = int(name.split("-")[-1].split(".")[0])
            assert image.size == (width, width * 3 // 2)
            assert image.format == ("WEBP" if name.endswith(".webp") else "JPEG")


def test_cover_command_refuses_a_file_that_is_not_an_image(app, tmp_path):
    with app.app_context():
        book = make_book(title="Emma")
    notes = tmp_path / "notes.jpg"
    notes.write_text("not a picture at all")
    assert "not an image" in one_line_error(run(app, "books", "cover", book.isbn13, str(notes)))
    with app.app_context():
        assert db.session.get(Book, book.id).cover_key is None


def test_cover_command_refuses_a_huge_file_and_an_unknown_book(app, tmp_path, monkeypatch):
    with app.app_context():
        book = make_book(title="Emma")
    image = make_image(tmp_path / "big.png", image_format="PNG")
    monkeypatch.setitem(app.config, "COVER_MAX_BYTES", 1000)
    assert "a cover can be at most" in one_line_error(run(app, "books", "cover", book.isbn13, str(image)))
    monkeypatch.setitem(app.config, "COVER_MAX_BYTES", 10_000_000)
    monkeypatch.setitem(app.config, "COVER_MAX_PIXELS", 1000)
    assert "pixels" in one_line_error(run(app, "books", "cover", book.isbn13, str(image)))
    assert "no book" in one_line_error(run(app, "books", "cover", isbn_for(999), str(image)))
    assert "no image file" in one_line_error(run(app, "books", "cover", book.isbn13, str(tmp_path / "missing.jpg")))


def test_import_takes_a_cover_file_relative_to_the_csv_and_rejects_a_bad_one(app, tmp_path):
    (tmp_path / "covers").mkdir()
    make_image(tmp_path / "covers" / "emma.png", size=(400, 500), image_format="PNG")
    (tmp_path / "covers" / "broken.jpg").write_bytes(b"\x00\x01 nope")
    csv_file = tmp_path / "books.csv"
    csv_file.write_text(
        HEADER
        + f"{isbn_for(1)},Emma,Jane Austen,9.99,3,covers/emma.png\n"
        + f"{isbn_for(2)},Dracula,Bram Stoker,8.99,2,covers/broken.jpg\n"
        + f"{isbn_for(3)},Persuasion,Jane Austen,7.99,1,\n"
    )
    result = run(app, "books", "import", str(csv_file))
    assert result.exit_code == 2, result.output
    assert "2 inserted" in result.output and "1 rejected" in result.output
    assert "cover_file covers/broken.jpg: the file is not an image" in result.output
    with app.app_context():
        books = {b.title: b for b in db.session.query(Book)}
        assert (books["Emma"].cover_width, books["Emma"].cover_height) == (320, 400)
        assert books["Persuasion"].cover_key is None


def test_book_card_and_page_show_a_picture_with_webp_jpeg_and_sizes(app, client, tmp_path):
    with app.app_context():
        book = make_book(title="Emma")
    run(app, "books", "cover", book.isbn13, str(make_image(tmp_path / "emma.jpg")))
    with app.app_context():
        key = db.session.get(Book, book.id).cover_key
    listing = client.get("/books").get_data(as_text=True)
    picture = re.search(r"<picture.*?</picture>", listing, re.S).group(0)
    assert f'<source type="image/webp" srcset="/media/covers/{key[:2]}/{key}-160.webp 160w' in picture
    assert f'src="/media/covers/{key[:2]}/{key}-160.jpg"' in picture
    assert 'width="160" height="240"' in picture and 'loading="eager"' in picture

    page = client.get(f"/books/{book.id}/{book.slug}").get_data(as_text=True)
    picture = re.search(r"<picture.*?</picture>", page, re.S).group(0)
    assert 'width="240" height="360"' in picture and 'alt="Cover of Emma"' in picture
    assert f"{key}-320.jpg 320w" in picture


def test_only_the_first_row_of_covers_loads_eagerly_and_every_cover_has_a_size(app, client):
    with app.app_context():
        many_books(10)
    listing = client.get("/books").get_data(as_text=True)
    covers = re.findall(r'<img class="cover"[^>]*>', listing)
    assert len(covers) == 10
    assert all('width="160" height="240"' in img for img in covers)
    assert [('loading="eager"' in img) for img in covers] == [True] * 4 + [False] * 6
    assert all("/cover.svg" in img for img in covers)


def test_a_book_without_an_image_gets_a_drawn_cover_with_its_title_escaped(app, client):
    with app.app_context():
        book = make_book(title='Fish & Chips <script>alert("x")</script>', authors="Ann O'Neil")
    response = client.get(f"/books/{book.id}/cover.svg")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    svg = response.get_data(as_text=True)
    assert "<script>" not in svg and "Fish &amp; Chips &lt;script&gt;" in svg
    assert "Ann O&#39;Neil" in svg
    assert f'fill="{cover_colour(book.title)}"' in svg
    assert response.headers["Cache-Control"] == "public, max-age=86400"
    again = client.get(f"/books/{book.id}/cover.svg", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304
    assert client.get("/books/999999/cover.svg").status_code == 404


def test_cover_colour_is_stable_per_title_and_long_titles_wrap():
    assert cover_colour("Emma") == cover_colour("Emma") == cover_colour(" emma ")
    assert cover_colour("Emma") != cover_colour("Dracula")
    assert re.fullmatch(r"#[0-9a-f]{6}", cover_colour("Emma"))
    lines = wrap_title("The Strange Case of Doctor Jekyll and Mister Hyde and Other Tales of Terror Told at Night")
    assert len(lines) == 5 and all(len(line) <= 16 for line in lines) and lines[-1].endswith("…")


def test_media_files_are_cached_for_a_year_and_cannot_leave_the_media_folder(app, client, tmp_path):
    with app.app_context():
        book = make_book(title="Emma")
    run(app, "books", "cover", book.isbn13, str(make_image(tmp_path / "emma.jpg")))
    name = media_files(app)[0].relative_to(app.config["MEDIA_ROOT"]).as_posix()
    response = client.get(f"/media/{name}")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    response.close()
    assert client.get("/media/../config.py").status_code == 404
    assert client.get("/media/covers/nothing.jpg").status_code == 404
