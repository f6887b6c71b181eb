"""The words of titles and author names, and the closest of them to a misspelt search word.

``search_words`` holds every word of a title or an author's name (lower case, letters only, at
least three of them). The catalogue services add a batch's words as they upsert it, so the
importer, the CLI, the seed and the bench all keep it. PostgreSQL finds candidates with pg_trgm
(``%`` on a GIN trigram index, ranked by ``similarity``); SQLite fetches the words
that share the misspelt word's first letter (a range of the primary key). Either way rapidfuzz
picks among the candidates, and it is one query for all the words of a search.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import bindparam, func, or_, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.types import ARRAY, String

from app.extensions import db
from app.models import SearchWord

MIN_LENGTH = 3
MAX_LENGTH = 64
# rapidfuzz ratio (0-100, from the insert/delete distance): "austin"/"austen" 83; one wrong
# letter in a four-letter word is 75, which is where a guess stops being a correction.
RATIO_THRESHOLD = 75
LENGTH_WINDOW = 2
LAST_CODE_POINT = chr(0x10FFFF)


WORD = re.compile(r"\w+")


def words_of(text_value: str) -> set[str]:
    """The words of a title or names worth correcting to (no numbers, no one- or two-letter words)."""
    return {
        word
        for word in set(WORD.findall(text_value.lower()))
        if word.isalpha() and MIN_LENGTH <= len(word) <= MAX_LENGTH
    }


def correctable(term: str) -> bool:
    """Whether a search word may be corrected: words of letters only (never an ISBN or a year)."""
    return term.isalpha() and MIN_LENGTH <= len(term) <= MAX_LENGTH


def remember_words(texts: Iterable[str], known: set[str] | None = None) -> None:
    """Add the words of ``texts`` that are new (one statement; the caller commits).

    ``known`` holds words already in the table (an import keeps it across batches): they are not
    sent again, and the words added are added to it.
    """
    # One pass over the batch's text: a word never spans the space between two texts.
    words = words_of(" ".join(texts))
    if known is not None:
        words -= known
        known |= words
    if not words:
        return
    insert = postgresql.insert if db.engine.dialect.name == "postgresql" else sqlite.insert
    stmt = insert(SearchWord).on_conflict_do_nothing(index_elements=["word"])
    db.session.execute(stmt, [{"word": word} for word in sorted(words)])


def closest_words(terms: list[str]) -> dict[str, str]:
    """For each unknown term, the closest vocabulary word, if one is close enough (one query).

    A term is known when some word starts with it (search matches prefixes as the reader types),
    and known terms are left alone.
    """
    terms = sorted({t for t in terms if correctable(t)})
    if not terms:
        return {}
    if db.engine.dialect.name == "postgresql":
        return _closest_by_trigrams(terms)
    return _closest_by_first_letter(terms)


# A term is known when a word starts with it: a range of the byte-order index (chr(1114111) is
# the last code point). Candidates: the words sharing enough trigrams (``%``, pg_trgm's
# threshold of 0.3, on the GIN index), most similar first; rapidfuzz then picks as on SQLite.
CANDIDATES_BY_TRIGRAMS = text(
    """
    SELECT t.term,
           EXISTS (SELECT 1 FROM search_words w
                    WHERE w.word COLLATE "C" >= t.term AND w.word COLLATE "C" < t.term || chr(1114111)) AS known,
           ARRAY(SELECT w.word FROM search_words w WHERE w.word % t.term
                 ORDER BY similarity(w.word, t.term) DESC, w.word LIMIT :limit) AS candidates
    FROM unnest(:terms) AS t(term)
    """
).bindparams(bindparam("terms", type_=ARRAY(String)))
CANDIDATES_PER_TERM = 10


def _closest_by_trigrams(terms: list[str]) -> dict[str, str]:
    rows = db.session.execute(CANDIDATES_BY_TRIGRAMS, {"terms": terms, "limit": CANDIDATES_PER_TERM})
    found = {}
    for term, known, candidates in rows:
        best = None if known else _best(term, candidates)
        if best:
            found[term] = best
    return found


def _closest_by_first_letter(terms: list[str]) -> dict[str, str]:
    # Per term: the words starting with it (then it is known), and the words of about its length
    # sharing its first letter (the candidates); both ranges of the primary key.
    wanted = [
        or_(
            (SearchWord.word >= term) & (SearchWord.word < term + LAST_CODE_POINT),
            (SearchWord.word >= term[0])
            & (SearchWord.word < chr(ord(term[0]) + 1))
            & func.length(SearchWord.word).between(len(term) - LENGTH_WINDOW, len(term) + LENGTH_WINDOW),
        )
        for term in terms
    ]
    words = db.session.scalars(select(SearchWord.word).where(or_(*wanted))).all()
    found = {}
    for term in terms:
        if any(word.startswith(term) for word in words):
            continue
        best = _best(term, [w for w in words if w[0] == term[0]])
        if best:
            found[term] = best
    return found


def _best(term: str, candidates: list[str]) -> str | None:
    """The candidate closest to ``term`` by rapidfuzz's ratio, if close enough (ties: the first)."""
    from rapidfuzz import fuzz, process  # only searches that find nothing get here

    near = [w for w in candidates if abs(len(w) - len(term)) <= LENGTH_WINDOW]
    best = process.extractOne(term, near, scorer=fuzz.ratio, score_cutoff=RATIO_THRESHOLD)
    return best[0] if best else None
