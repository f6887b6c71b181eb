"""Every committed change to a club's page moves the club's cache version on.

A club's page is cached whole (``app/clubs/views.py``) under the club's version. Session hooks
(``app/row_changes.py``) note the club of every changed club row, membership, donation, fund
entry, shelf book and wish, whichever code made the change, and bump that club's version after
the commit; a bulk statement that names no club moves ``ALL_CLUBS_VERSION`` on, which is part of
every club page's key. What the page shows of other rows (a donor's name, a shelf book's title)
may lag by ``CLUB_PAGE_CACHE_SECONDS`` at most, as the page's shared part always could.
"""

from __future__ import annotations

from app.models import Club, Donation, FundEntry, Membership, ShelfBook, WishlistItem
from app.row_changes import EVERY_ROW, watch

ALL_CLUBS_VERSION = "club:all-clubs-version"
_PREFIX = "club:version:"


def club_version_key(club_id: int) -> str:
    return f"{_PREFIX}{club_id}"


def club_id_in(version_keys: list[str] | tuple[str, ...]) -> int | None:
    """The club a page's version keys belong to (the first key names it)."""
    if version_keys and version_keys[0].startswith(_PREFIX):
        return int(version_keys[0][len(_PREFIX) :])
    return None


def _bump_versions(changed: set) -> None:
    from app.catalogue.caching import bump

    for club_id in sorted(changed, key=str):
        bump(ALL_CLUBS_VERSION if club_id == EVERY_ROW else club_version_key(club_id))


install_club_changes = watch(
    "clubs_changed",
    {
        Club: "id",
        Membership: "club_id",
        Donation: "club_id",
        FundEntry: "club_id",
        ShelfBook: "club_id",
        WishlistItem: "club_id",
    },
    _bump_versions,
)
