"""Every committed change to a contest, its entries or its flags moves the contest's cache
version on (session hooks, ``app/row_changes.py``), whichever code made it: the contest page is
cached whole under it (``app/contests/views.py``). A bulk statement that names no contest moves
``ALL_CONTESTS_VERSION`` on, part of every contest page's key."""

from __future__ import annotations

from app.models import Contest, ContestEntry, ContestFlag
from app.row_changes import EVERY_ROW, watch

ALL_CONTESTS_VERSION = "contest:all-contests-version"


def contest_version_key(contest_id: int) -> str:
    return f"contest:version:{contest_id}"


def _bump_versions(changed: set) -> None:
    from app.catalogue.caching import bump

    for contest_id in sorted(changed, key=str):
        bump(ALL_CONTESTS_VERSION if contest_id == EVERY_ROW else contest_version_key(contest_id))


install_contest_changes = watch(
    "contests_changed", {Contest: "id", ContestEntry: "contest_id", ContestFlag: "contest_id"}, _bump_versions
)
