"""Reading clubs: the directory (search, filters, distance) and what a club page shows."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import aliased

from app.extensions import db
from app.models import Club, Membership, MemberStatus, User

KM_PER_DEGREE = 111.195


@dataclass
class DirectoryParams:
    q: str = ""
    city: str = ""
    country: str = ""
    near: str = ""  # a known city, or "latitude,longitude"
    page: int = 1
    per_page: int = 24


@dataclass
class DirectoryRow:
    club: Club
    members: int
    distance_km: float | None = None


@dataclass
class Directory:
    rows: list[DirectoryRow]
    total: int
    params: DirectoryParams
    origin: tuple[float, float] | None = None
    origin_error: str | None = None
    cities: list[str] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.params.per_page))


def resolve_place(near: str) -> tuple[tuple[float, float] | None, str | None]:
    """Coordinates for "lat,lon" or for a city some club is in; or an error to show."""
    near = near.strip()
    if not near:
        return None, None
    match = re.fullmatch(r"(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)", near)
    if match:
        lat, lon = float(match.group(1)), float(match.group(2))
        if -90 <= lat <= 90 and -180 <= lon <= 180:
            return (lat, lon), None
        return None, "Coordinates must be a latitude (−90 to 90) and a longitude (−180 to 180)."
    row = db.session.execute(
        select(func.avg(Club.latitude), func.avg(Club.longitude)).where(
            func.lower(Club.city) == near.lower(), Club.latitude.is_not(None)
        )
    ).first()
    if row is None or row[0] is None:
        return None, f"We do not know where “{near}” is. Try a city from the list, or “latitude, longitude”."
    return (float(row[0]), float(row[1])), None


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def directory(params: DirectoryParams) -> Directory:
    """One page of open, unhidden clubs with member counts, nearest first when a place is given.

    Four queries whatever the page size: count, rows (with counts), cities, countries.
    """
    members = (
        select(Membership.club_id, func.count(Membership.id).label("members"))
        .where(Membership.status == MemberStatus.ACTIVE)
        .group_by(Membership.club_id)
        .subquery()
    )
    stmt = select(Club, func.coalesce(members.c.members, 0)).outerjoin(members, members.c.club_id == Club.id)
    listed = and_(Club.closed_at.is_(None), Club.hidden.is_(False))  # closed and hidden clubs are not listed
    stmt = stmt.where(listed)
    if params.q.strip():
        term = params.q.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        like = f"%{term}%"
        stmt = stmt.where(
            or_(*(func.lower(col).like(like, escape="\\") for col in (Club.name, Club.city, Club.region, Club.country)))
        )
    if params.city:
        stmt = stmt.where(func.lower(Club.city) == params.city.lower())
    if params.country:
        stmt = stmt.where(func.lower(Club.country) == params.country.lower())
    origin, origin_error = resolve_place(params.near)
    if origin:
        # Equirectangular distance: plain arithmetic, so SQLite and PostgreSQL order alike.
        scale = math.cos(math.radians(origin[0]))
        dx = (Club.longitude - origin[1]) * scale
        dy = Club.latitude - origin[0]
        order = [Club.latitude.is_(None), dx * dx + dy * dy, Club.name]
    else:
        order = [Club.name, Club.id]
    total = db.session.scalar(select(func.count()).select_from(stmt.with_only_columns(Club.id).subquery()))
    page = max(1, min(params.page, max(1, -(-total // params.per_page))))
    rows = db.session.execute(stmt.order_by(*order).limit(params.per_page).offset((page - 1) * params.per_page))
    result = []
    for club, count in rows:
        km = None
        if origin and club.latitude is not None and club.longitude is not None:
            km = distance_km(origin, (club.latitude, club.longitude))
        result.append(DirectoryRow(club=club, members=int(count), distance_km=km))
    params.page = page
    cities = list(db.session.scalars(select(Club.city).where(listed).distinct().order_by(Club.city)))
    countries = list(db.session.scalars(select(Club.country).where(listed).distinct().order_by(Club.country)))
    return Directory(
        rows=result,
        total=total,
        params=params,
        origin=origin,
        origin_error=origin_error,
        cities=cities,
        countries=countries,
    )


def members_of(club: Club) -> list[tuple[Membership, User]]:
    """Every membership with its person: owner, moderators, members, then pending and banned."""
    rows = db.session.execute(
        select(Membership, User).join(User, User.id == Membership.user_id).where(Membership.club_id == club.id)
    ).tuples()
    rank = {"owner": 0, "moderator": 1, "member": 2}
    status_rank = {MemberStatus.ACTIVE: 0, MemberStatus.PENDING: 1, MemberStatus.BANNED: 2}
    return sorted(rows, key=lambda r: (status_rank[r[0].status], rank[r[0].role], r[1].name.lower()))


def member_counts(club_id: int) -> dict[str, int]:
    """How many memberships the club has in each status (one query)."""
    rows = db.session.execute(
        select(Membership.status, func.count(Membership.id))
        .where(Membership.club_id == club_id)
        .group_by(Membership.status)
    ).all()
    return {status: count for status, count in rows}


def clubs_of(user: User) -> list[tuple[Club, Membership]]:
    """Every club the reader is in or asked to join, by name (one query)."""
    return list(
        db.session.execute(
            select(Club, Membership)
            .join(Membership, Membership.club_id == Club.id)
            .where(Membership.user_id == user.id)
            .order_by(Club.name, Club.id)
        ).tuples()
    )


SLUG_SECONDS = 24 * 3600


def club_id_by_slug(slug: str) -> int | None:
    """The id of the club with ``slug``: a club keeps its slug for life, so the answer is kept in
    the shared cache (the club page checks it against the club it shows)."""
    from app.extensions import cache

    key = f"club:slug-id:{slug}"
    club_id = cache.get(key)
    if club_id is None:
        club_id = db.session.scalar(select(Club.id).where(Club.slug == slug))
        if club_id is not None:
            cache.set(key, club_id, timeout=SLUG_SECONDS)
    return club_id


def forget_club_slug(slug: str) -> None:
    from app.extensions import cache

    cache.delete(f"club:slug-id:{slug}")


@dataclass
class ClubPage:
    """A club as its page shows it: the club, the viewer's membership, and the figures the page
    prints, with a fingerprint of everything the shared part of the page is rendered from."""

    club: Club
    membership: Membership | None
    members: int
    raised_cents: int
    fingerprint: str


def club_page(slug: str, user_id: int | None) -> ClubPage | None:
    """The club with ``slug``, the viewer's membership, its member count and donated total (one query).

    The fingerprint changes with anything the page's shared part shows: the club's own row
    (``updated_at``), its fund (``fund_version``, bumped with every donation, refund and
    purchase, in the same transaction), the member count, and the shelf's and wishlist's rows
    (count, newest id, books given). It is computed by the database, so every write path moves
    it, whichever code made the change.
    """
    from app.models import FundEntry, ShelfBook, WishlistItem

    others = aliased(Membership)

    def scalar(*columns, where):
        return select(*columns).where(*where).scalar_subquery()

    shelf_of_club = (ShelfBook.club_id == Club.id,)
    wishes_of_club = (WishlistItem.club_id == Club.id,)
    stmt = (
        select(
            Club,
            Membership,
            scalar(func.count(others.id), where=(others.club_id == Club.id, others.status == MemberStatus.ACTIVE)),
            scalar(
                func.coalesce(func.sum(FundEntry.amount_cents), 0),
                where=(FundEntry.club_id == Club.id, FundEntry.kind.in_((FundEntry.DONATION, FundEntry.REVERSAL))),
            ),
            scalar(func.count(ShelfBook.id), where=shelf_of_club),
            scalar(func.max(ShelfBook.id), where=shelf_of_club),
            scalar(func.count(WishlistItem.id), where=wishes_of_club),
            scalar(func.max(WishlistItem.id), where=wishes_of_club),
            scalar(func.count(WishlistItem.given_at), where=wishes_of_club),
        )
        .outerjoin(Membership, and_(Membership.club_id == Club.id, Membership.user_id == (user_id or -1)))
        .where(Club.slug == slug)
    )
    row = db.session.execute(stmt).first()
    if row is None:
        return None
    club, membership, members, raised, *parts = row
    parts = (club.updated_at.timestamp(), club.fund_version, members, raised, *parts)
    fingerprint = ".".join(str(part) for part in parts)
    return ClubPage(club, membership, int(members), int(raised), fingerprint)
