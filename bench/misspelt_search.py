"""How long a misspelt search takes on the generated catalogue (not a test: prints figures).

DATABASE_URL=sqlite:////tmp/bench.db python -m bench.misspelt_search 10000
DATABASE_URL=postgresql://postgres@127.0.0.1:5432/DB python -m bench.misspelt_search 10000

Empties the database (as ``bench.database reset``), migrates it, seeds COUNT generated books,
then times ``list_books`` (the service behind /books and /api/v1/books) for searches as typed
and misspelt, and the closest-word lookup alone. Medians and the slowest of REPEAT runs, in ms.
The generated catalogue has a small vocabulary (a few hundred words); ``--extra-words 20000``
adds random words, as a real catalogue of 10,000 books would have.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from pathlib import Path

from flask_migrate import upgrade
from sqlalchemy import func, select

from app import create_app
from app.catalogue.queries import CatalogueParams, list_books
from app.catalogue.search import search_terms
from app.catalogue.vocabulary import closest_words, remember_words
from app.extensions import db
from app.models import SearchWord
from bench.database import reset_database, seed_books

MIGRATIONS = str(Path(__file__).resolve().parent.parent / "migrations")
SEARCHES = [
    "okafor",  # as typed: an author
    "letters from lisbon",  # as typed: a title
    "okafro",  # misspelt author
    "whitlok",  # misspelt author
    "letters from lisbn",  # one misspelt word of three
    "silnt rivr",  # two misspelt words
    "lighthose harbuor",  # two misspelt words
    "xqzvbnm",  # nonsense: nothing to correct to
]


def timed(fn, repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), max(times)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.misspelt_search")
    parser.add_argument("count", type=int, nargs="?", default=10_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--extra-words", type=int, default=0)
    args = parser.parse_args()
    app = create_app()
    with app.app_context():
        print(f"{db.engine.dialect.name}: {reset_database()}")
        upgrade(directory=MIGRATIONS)
        started = time.perf_counter()
        seed_books(args.count)
        rng = random.Random(12)
        letters = "eeeeaaaoooiiinnssrrtthhlldcumwfgypbvk"
        remember_words("".join(rng.choice(letters) for _ in range(rng.randint(4, 11))) for _ in range(args.extra_words))
        db.session.commit()
        words = db.session.scalar(select(func.count()).select_from(SearchWord))
        print(f"seeded {args.count} books in {time.perf_counter() - started:.1f} s; {words} vocabulary words")
        print(f"{'search':<22} {'books':>5}  {'shown for':<22} {'list ms p50':>11} {'max':>6} {'words ms':>8}")
        for query in SEARCHES:
            found = list_books(CatalogueParams(q=query))
            shown = found.showing_for or (f"(did you mean {found.suggestion})" if found.suggestion else "")
            page_ms, page_max = timed(lambda q=query: list_books(CatalogueParams(q=q)), args.repeat)
            words_ms, _ = timed(lambda q=query: closest_words(search_terms(q)), args.repeat)
            print(f"{query:<22} {found.total:>5}  {shown:<22} {page_ms:>11.1f} {page_max:>6.1f} {words_ms:>8.1f}")
            db.session.rollback()


if __name__ == "__main__":
    main()
