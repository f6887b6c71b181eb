"""Generated books that read like a real catalogue, so full-text search has words to rank.

The same seed always gives the same books. Rows are dicts of strings, exactly what a CSV import
reads, so the seeded database and the imported file go through the same validation.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from pathlib import Path

from app.catalogue.isbn import isbn13_check_digit

CSV_COLUMNS = ["isbn", "title", "authors", "description", "publisher", "year", "language", "genres", "price", "stock"]


def _words(text: str) -> list[str]:
    return text.split()


ADJECTIVES = _words(
    """silent hidden lost broken golden quiet last secret distant burning forgotten northern
wild bitter gentle hollow crimson pale restless narrow ancient patient winter summer salt iron
glass paper velvet midnight early little long strange honest"""
)
NOUNS = _words(
    """river garden house city island orchard lantern harbour mountain letter mirror daughter
kingdom forest winter bridge library clock map storm road lighthouse cathedral station voyage
orchestra memory promise shadow inheritance archive festival border compass tide
window field engine"""
)
PLACES = _words(
    """Lisbon Kyoto Marrakesh Oslo Valparaiso Trieste Odessa Lagos Hanoi Dublin Tbilisi
Montreal Naples Samarkand Reykjavik Cartagena Edinburgh Krakow Alexandria Madras"""
)
FIRST_NAMES = _words(
    """Ada Amara Anton Beatriz Camille Chidi Clara Dmitri Elena Emeka Farah Felix Greta
Hana Hugo Ines Ivan Jonah Kaito Leila Lorenzo Mara Mateo Nadia Niamh Oskar Priya Rafael Rosa
Samir Sofia Tomas Una Viktor Wen Yara Zadie Malik Ingrid Tariq"""
)
SURNAMES = _words(
    """Abara Alvarez Bergstrom Brennan Castellanos Chowdhury Delacroix Eriksen Fitzgerald
Gallagher Haddad Halvorsen Ibsen Ishikawa Jovanovic Kowalski Laurent Lindqvist Marchetti Mbeki
Nakamura Novak Okafor Oyelaran Petrov Quintero Rahman Rossi Sandoval Szabo Takahashi Thornbury
Ulrich Varga Vasquez Whitlock Yilmaz Zielinski Harlow Ashdown Moreau Kessler Byrne Sato"""
)
PROFESSIONS = _words(
    """cartographer midwife watchmaker schoolteacher fisherman translator botanist
detective violinist archivist pilot baker lighthouse-keeper surgeon journalist"""
)
VERBS = _words("""finds loses remembers inherits restores follows hides betrays rebuilds maps""")
THEMES = [
    "grief and forgiveness",
    "exile and return",
    "friendship across a divided city",
    "the price of ambition",
    "love in a time of war",
    "the weight of family secrets",
    "memory and invention",
    "faith and doubt",
    "the sea and those who wait for it",
    "a country learning to tell the truth",
]
GENRES = [
    "Fiction",
    "Literary Fiction",
    "Mystery",
    "Crime",
    "Thriller",
    "Science Fiction",
    "Fantasy",
    "Historical Fiction",
    "Romance",
    "Biography",
    "History",
    "Poetry",
    "Travel",
    "Philosophy",
    "Science",
    "Children's",
    "Cooking",
    "Art",
]
PUBLISHERS = [
    "Harbour Press",
    "Northlight Books",
    "Quire & Ink",
    "Foxglove Editions",
    "Meridian House",
    "Salt Road Publishing",
    "Little Lantern",
    "Atlas & Crane",
    "Greywater Books",
    "Open Field Press",
    "Tidewater",
    "Juniper Street",
]
LANGUAGES = ["en"] * 16 + ["fr", "de", "es", "it"]

TITLE_PATTERNS = [
    "The {Adj} {Noun}",
    "The {Noun} of {Place}",
    "A {Noun} in {Place}",
    "{First}'s {Noun}",
    "The Last {Noun}",
    "{Adj} {Noun}s",
    "The {Noun} and the {Noun2}",
    "Letters from {Place}",
    "The {Adj} {Noun} of {Place}",
    "Under the {Adj} {Noun}",
]
SENTENCES = [
    "{First}, a {adj} {profession} from {Place}, {verb} a {noun} that nobody else remembers.",
    "When the {noun} closes for the {adj} season, {First} has one week to decide what to keep.",
    "Set between {Place} and {Place2}, this is a novel about {theme}.",
    "{Surname} writes with {adj} precision about {theme}.",
    "A {adj} {noun}, a missing {noun2} and a {profession} who {verb} everything.",
    "Three generations of the {Surname} family return to the {noun} where it all began.",
    "Part travelogue and part confession, it follows a {profession} across {Place}.",
    "Praised for its {adj} prose, the book was shortlisted for the {Place} Prize.",
    "What begins as a story about a {noun} becomes a meditation on {theme}.",
    "Includes maps, a reading guide and an afterword by {First} {Surname}.",
]

SEARCHES = ["garden", "silent river", "lighthouse keeper", "okafor", "cartog", "letters from lisbon"]
"""Queries for ``/books?q=``: a common word, two words, a phrase, an author, a prefix, a title."""


def isbn13(number: int) -> str:
    """A valid ISBN-13 for a serial number below 10**9 (978 prefix)."""
    first12 = f"978{number:09d}"
    return first12 + isbn13_check_digit(first12)


def _fill(pattern: str, rng: random.Random) -> str:
    noun, noun2 = rng.sample(NOUNS, 2)
    place, place2 = rng.sample(PLACES, 2)
    return pattern.format(
        Adj=rng.choice(ADJECTIVES).capitalize(),
        adj=rng.choice(ADJECTIVES),
        Noun=noun.capitalize(),
        Noun2=noun2.capitalize(),
        noun=noun,
        noun2=noun2,
        Place=place,
        Place2=place2,
        First=rng.choice(FIRST_NAMES),
        Surname=rng.choice(SURNAMES),
        profession=rng.choice(PROFESSIONS),
        verb=rng.choice(VERBS),
        theme=rng.choice(THEMES),
    )


def book_rows(count: int, first_serial: int = 0, seed: int = 1) -> Iterator[dict[str, str]]:
    """``count`` books as import rows, ISBNs numbered from ``first_serial``."""
    rng = random.Random(seed)
    # A fixed pool of authors, so that authors have several books, as in a real catalogue.
    authors = [f"{rng.choice(FIRST_NAMES)} {rng.choice(SURNAMES)}" for _ in range(max(50, count // 5))]
    for serial in range(first_serial, first_serial + count):
        description = " ".join(_fill(rng.choice(SENTENCES), rng) for _ in range(rng.randint(3, 6)))
        yield {
            "isbn": isbn13(serial),
            "title": _fill(rng.choice(TITLE_PATTERNS), rng),
            "authors": "; ".join(rng.sample(authors, rng.choice((1, 1, 1, 2, 3)))),
            "description": description,
            "publisher": rng.choice(PUBLISHERS),
            "year": str(rng.randint(1900, 2025)),
            "language": rng.choice(LANGUAGES),
            "genres": "; ".join(rng.sample(GENRES, rng.randint(1, 3))),
            "price": f"{rng.randint(4, 59)}.{rng.choice(('00', '50', '95', '99'))}",
            "stock": str(rng.choice((0, 0, 1, 2, 3, 5, 8, 12, 20, 40))),
        }


def write_csv(path: Path, count: int, first_serial: int = 0) -> None:
    """Write ``count`` generated books to ``path`` as an import CSV."""
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(book_rows(count, first_serial))
