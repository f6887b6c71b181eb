"""Every committed change to a book moves its cache versions on, whichever code made it.

The catalogue's services bump versions themselves (``caching.invalidate_books``); these session
hooks make it hold for any other write too: an order taking stock with a conditional ``UPDATE``,
a script, an admin command. The whole book page is cached under its book's version
(``app/catalogue/views.py``), so a write that forgot to say so would otherwise leave it stale.

- a flush that inserts, changes or deletes a ``Book`` notes its id;
- a bulk ``UPDATE``/``DELETE`` of ``books`` notes the id its WHERE names (``books.id = ?``), or
  every book when it names none (``ALL_BOOKS_VERSION``, part of every book page's key);
- after the commit, the noted books are invalidated (and the listings with them); a rollback
  forgets them.
"""

from __future__ import annotations

from sqlalchemy import Delete, Update, event
from sqlalchemy.orm import Session

from app.accounts.user_cache import ids_named_in
from app.extensions import db
from app.models import Book

ALL_BOOKS_VERSION = "catalogue:all-books-version"
_CHANGED = "books_changed"  # session.info: book ids changed in this transaction, or ALL_BOOKS_VERSION


def _note_changed(session: Session, flush_context) -> None:  # noqa: ANN001 - SQLAlchemy's signature
    ids = {obj.id for obj in (*session.new, *session.dirty, *session.deleted) if isinstance(obj, Book)}
    ids.discard(None)
    if ids:
        session.info.setdefault(_CHANGED, set()).update(ids)


def _note_bulk(orm_execute_state) -> None:  # noqa: ANN001 - SQLAlchemy's ORMExecuteState
    statement = orm_execute_state.statement
    if not isinstance(statement, Update | Delete) or statement.table.name != Book.__tablename__:
        return
    named = ids_named_in(statement, Book.__table__.c.id)
    orm_execute_state.session.info.setdefault(_CHANGED, set()).update(named or {ALL_BOOKS_VERSION})


def _invalidate_after_commit(session: Session) -> None:
    changed = session.info.pop(_CHANGED, None)
    if not changed:
        return
    from app.catalogue.caching import bump, invalidate_books

    if ALL_BOOKS_VERSION in changed:
        changed.discard(ALL_BOOKS_VERSION)
        bump(ALL_BOOKS_VERSION)
    invalidate_books(sorted(changed))


def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_CHANGED, None)


def install_book_changes() -> None:
    """Attach the hooks to the app's session (once; the session is shared by every app)."""
    for name, hook in (
        ("after_flush", _note_changed),
        ("do_orm_execute", _note_bulk),
        ("after_commit", _invalidate_after_commit),
        ("after_rollback", _forget_after_rollback),
    ):
        if not event.contains(db.session, name, hook):
            event.listen(db.session, name, hook)
