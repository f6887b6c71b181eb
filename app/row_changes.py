"""Session hooks that note which rows a transaction changed, and act on them after the commit.

Cached pages are keyed by versions (``app/catalogue/caching.py``); a version must move on with
every committed change to what the page shows, whichever code made it. ``watch`` notes, per
transaction, the ids a set of models' rows belong to:

- a flush that inserts, changes or deletes a watched object notes its attribute (a book's id, a
  membership's club id);
- a bulk ``UPDATE``/``DELETE`` of a watched table notes the id its WHERE names (``column = ?``),
  or ``EVERY_ROW`` when it names none;
- after the commit, ``on_commit(ids)`` runs once with all of them; a rollback forgets them.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Delete, Update, event
from sqlalchemy.orm import Session
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import BinaryExpression, BindParameter, BooleanClauseList

from app.extensions import db

EVERY_ROW = "*"


def ids_named_in(statement: Update | Delete, column) -> set[int] | None:  # noqa: ANN001
    """The ids a bulk statement is limited to by ``column == value`` in its WHERE (an AND of
    conditions), or None when it names none (then every row's cached copy must go)."""
    where = statement.whereclause
    if where is None:
        return None
    conditions = where.clauses if isinstance(where, BooleanClauseList) and where.operator is operators.and_ else [where]
    for condition in conditions:
        if (
            isinstance(condition, BinaryExpression)
            and condition.operator is operators.eq
            and getattr(condition.left, "table", None) is not None
            and condition.left.table.name == column.table.name
            and condition.left.name == column.name
            and isinstance(condition.right, BindParameter)
            and isinstance(condition.right.effective_value, int)
        ):
            return {condition.right.effective_value}
    return None


def watch(name: str, watched: dict[type, str], on_commit: Callable[[set], None]) -> Callable[[], None]:
    """Hooks noting, under ``session.info[name]``, the ``watched[model]`` attribute of changed rows.
    Returns the function that installs them (once: the session is shared by every app)."""
    tables = {model.__tablename__: model.__table__.c[attribute] for model, attribute in watched.items()}
    models = tuple(watched)

    def note_flushed(session: Session, flush_context) -> None:  # noqa: ANN001 - SQLAlchemy's signature
        ids = {
            getattr(obj, watched[type(obj)])
            for obj in (*session.new, *session.dirty, *session.deleted)
            if isinstance(obj, models) and type(obj) in watched
        }
        ids.discard(None)
        if ids:
            session.info.setdefault(name, set()).update(ids)

    def note_bulk(orm_execute_state) -> None:  # noqa: ANN001 - SQLAlchemy's ORMExecuteState
        statement = orm_execute_state.statement
        if not isinstance(statement, Update | Delete) or statement.table.name not in tables:
            return
        named = ids_named_in(statement, tables[statement.table.name])
        orm_execute_state.session.info.setdefault(name, set()).update(named or {EVERY_ROW})

    def act_after_commit(session: Session) -> None:
        changed = session.info.pop(name, None)
        if changed:
            on_commit(changed)

    def forget_after_rollback(session: Session) -> None:
        session.info.pop(name, None)

    def install() -> None:
        for event_name, hook in (
            ("after_flush", note_flushed),
            ("do_orm_execute", note_bulk),
            ("after_commit", act_after_commit),
            ("after_rollback", forget_after_rollback),
        ):
            if not event.contains(db.session, event_name, hook):
                event.listen(db.session, event_name, hook)

    return install
