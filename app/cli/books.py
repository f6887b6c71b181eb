"""``flask books``: import a catalogue file, add a book, change its price or stock, give it a cover, remove it."""

import gc
from contextlib import ExitStack
from pathlib import Path

import click
from sqlalchemy import select

from app.catalogue import services
from app.catalogue.covers import set_cover
from app.catalogue.importer import DEFAULT_BATCH_SIZE, import_books
from app.cli import CommandGroup, exit_on
from app.cli.audit import record_admin_action
from app.extensions import db
from app.formatting import money
from app.models import Book

books = CommandGroup("books", help="Manage the catalogue.")

REJECTS_SHOWN = 5
REJECTS_EXIT_STATUS = 2  # some rows rejected (1 is bad input, as for every command)


@books.command("import")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--batch-size",
    default=DEFAULT_BATCH_SIZE,
    show_default=True,
    type=click.IntRange(min=1),
    help="Rows per transaction.",
)
@click.option(
    "--rejects",
    "rejects_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the rejected rows (default: PATH.rejects.csv).",
)
@click.option("--allow-rejects", is_flag=True, help="Exit 0 even when rows were rejected.")
def import_(path: Path, batch_size: int, rejects_path: Path | None, allow_rejects: bool) -> None:
    """Import or update books from a CSV or JSON Lines file (matched by ISBN).

    \b
    Exit status: 0 when every row was imported; 2 when some rows were rejected (the good rows are
    imported all the same; the rejected ones are written to the rejects file), unless
    --allow-rejects; 1 when the file cannot be imported at all.
    """
    if not path.is_file():
        raise click.ClickException(f"no file {path}")
    # The objects of app start-up live as long as this command: leave them out of the garbage
    # collector's full passes, which otherwise walk them again and again during a long import
    # (a quarter of the import's CPU on 100,000 rows).
    gc.freeze()
    with ExitStack() as stack:
        bar = None

        def advance(n_bytes: int) -> None:
            # The bar starts with the first batch, so a file refused whole fails in one line.
            nonlocal bar
            if bar is None:
                bar = stack.enter_context(click.progressbar(length=path.stat().st_size, label=f"Importing {path.name}"))
            bar.update(n_bytes)

        with exit_on(services.CatalogueError):
            summary = import_books(path, batch_size=batch_size, rejects_path=rejects_path, progress=advance)
    record_admin_action(
        "books import",
        f"file:{path.name}",
        path=str(path.resolve()),
        inserted=summary.inserted,
        updated=summary.updated,
        rejected=summary.rejected,
    )
    click.echo(f"Imported {path}: {summary.inserted} inserted, {summary.updated} updated, {summary.rejected} rejected.")
    for reject in summary.rejects[:REJECTS_SHOWN]:
        click.echo(f"  line {reject.line}: {reject.reason}")
    if summary.rejected > REJECTS_SHOWN:
        click.echo(f"  ... and {summary.rejected - REJECTS_SHOWN} more.")
    if summary.rejects_path:
        click.echo(f"Rejected rows are in {summary.rejects_path}.")
    if summary.rejected and not allow_rejects:
        click.get_current_context().exit(REJECTS_EXIT_STATUS)  # scripts notice; --allow-rejects keeps 0


@books.command("add")
@click.option("--isbn", required=True, help="ISBN-13 or ISBN-10.")
@click.option("--title", required=True)
@click.option("--author", "authors", multiple=True, required=True, help="Repeat for several authors, in order.")
@click.option("--price", required=True, help="Like 12.99.")
@click.option("--stock", required=True, help="Copies in stock.")
@click.option("--genre", "genres", multiple=True, help="Repeat for several genres.")
@click.option("--description", default="")
@click.option("--publisher")
@click.option("--year")
def add(isbn, title, authors, price, stock, genres, description, publisher, year) -> None:
    """Add one book to the catalogue."""
    row = {
        "isbn": isbn,
        "title": title,
        "authors": list(authors),
        "price": price,
        "stock": stock,
        "genres": list(genres),
        "description": description,
        "publisher": publisher,
        "year": year,
    }
    with exit_on(services.CatalogueError):
        data = services.book_data_from_row(row)
    existing = db.session.scalar(select(Book).where(Book.isbn13 == data.isbn13, Book.removed_at.is_(None)))
    if existing is not None:
        raise click.ClickException(
            f"ISBN {data.isbn13} is already in the catalogue: {existing.title} (id {existing.id})"
        )
    services.upsert_books([data])
    book = db.session.scalar(select(Book).where(Book.isbn13 == data.isbn13))
    record_admin_action("books add", f"book:{book.id}", isbn13=book.isbn13, title=book.title)
    click.echo(f"Added {book.title} (id {book.id}, ISBN {book.isbn13}).")


@books.command("set-price")
@click.argument("isbn_or_id")
@click.argument("price")
def set_price(isbn_or_id: str, price: str) -> None:
    """Change the price of a book (open orders keep theirs)."""
    with exit_on(services.CatalogueError):
        book = services.set_price(isbn_or_id, price)
    record_admin_action("books set-price", f"book:{book.id}", isbn13=book.isbn13, price_cents=book.price_cents)
    click.echo(f"{book.title} (id {book.id}) now costs {money(book.price_cents)}.")


# ignore_unknown_options: a negative count reaches the service (and its message), not "no such option -1".
@books.command("set-stock", context_settings={"ignore_unknown_options": True})
@click.argument("isbn_or_id")
@click.argument("stock")
def set_stock(isbn_or_id: str, stock: str) -> None:
    """Set how many copies of a book are in stock."""
    try:
        count = int(stock)
    except ValueError:
        raise click.ClickException(f"stock {stock!r} is not a whole number") from None
    with exit_on(services.CatalogueError):
        book = services.set_stock(isbn_or_id, count)
    record_admin_action("books set-stock", f"book:{book.id}", isbn13=book.isbn13, stock=book.stock)
    click.echo(f"{book.title} (id {book.id}) now has {book.stock} in stock.")


@books.command("remove")
@click.argument("isbn_or_id")
def remove(isbn_or_id: str) -> None:
    """Take a book out of the catalogue (orders that name it keep their lines)."""
    with exit_on(services.CatalogueError):
        book = services.remove_book(isbn_or_id)
    record_admin_action("books remove", f"book:{book.id}", isbn13=book.isbn13, title=book.title)
    click.echo(f"Removed {book.title} (id {book.id}, ISBN {book.isbn13}) from the catalogue.")


@books.command("cover")
@click.argument("isbn_or_id")
@click.argument("image", type=click.Path(dir_okay=False, path_type=Path))
def cover(isbn_or_id: str, image: Path) -> None:
    """Give a book a cover image (JPEG, PNG, WebP or GIF); pages show it in two sizes, WebP and JPEG."""
    with exit_on(services.CatalogueError):
        book = set_cover(isbn_or_id, image)
    record_admin_action("books cover", f"book:{book.id}", isbn13=book.isbn13, cover_key=book.cover_key)
    click.echo(f"{book.title} (id {book.id}) now has the cover {image.name} ({book.cover_width}x{book.cover_height}).")
