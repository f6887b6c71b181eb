"""Template filters: money in cents, dates in the reader's time zone, language names."""

import json
from datetime import UTC, date, datetime, tzinfo
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pycountry
from flask import Flask
from flask_login import current_user


def money(cents: int | None, currency: str = "usd") -> str:
    if cents is None:
        return ""
    sign = "-" if cents < 0 else ""
    cents = abs(int(cents))
    symbol = {"usd": "$", "eur": "€", "gbp": "£"}.get(currency.lower(), "")
    return f"{sign}{symbol}{cents // 100:,}.{cents % 100:02d}"


def local_time(value: datetime | None, fmt: str = "%d %b %Y, %H:%M") -> str:
    if value is None:
        return ""
    zone = getattr(current_user, "time_zone", None) or "UTC"
    try:
        return value.astimezone(ZoneInfo(zone)).strftime(fmt)
    except (KeyError, ValueError):
        return value.strftime(fmt) + " UTC"


def zone_of(user) -> tzinfo:
    """The reader's time zone (UTC when unknown or signed out)."""
    name = getattr(user, "time_zone", None) or "UTC"
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def local_today(user, now: datetime | None = None) -> date:
    """Today's date where the reader lives."""
    return (now or datetime.now(UTC)).astimezone(zone_of(user)).date()


# A contest metric's unit (singular, plural) and decimals: per-member scores are averages, so they
# carry one decimal (money two); totals are whole numbers.
SCORE_UNITS = {
    "books_read": ("book", "books"),
    "pages_read": ("page", "pages"),
    "books_donated": ("book donated", "books donated"),
}
OTHER_UNIT = ("point", "points")


def format_score(value: float | int | None, metric: str, scoring: str = "total") -> str:
    """A contest score with fixed precision and its unit: "1,321 pages", "2.5 books per member",
    "$30.00". Leaderboards, contest pages, results emails, the API and the CLI all use it."""
    value = value or 0
    per_member = scoring == "per_member"
    suffix = " per member" if per_member else ""
    if metric == "money_donated":  # value in cents
        return money(round(value)) + suffix
    singular, plural = SCORE_UNITS.get(metric, OTHER_UNIT)
    if per_member:
        return f"{value:,.1f} {plural}{suffix}"
    whole = round(value)
    return f"{whole:,} {singular if whole == 1 else plural}"


def language_name(code: str | None) -> str:
    """ "en" → "English"; an unknown code is shown as it is."""
    if not code:
        return ""
    return _language_names().get(code.lower(), code)


@lru_cache(maxsize=1)
def _language_names() -> dict[str, str]:
    """pycountry's ISO 639-3 names by two- and three-letter code, read once from its data file:
    pycountry's own objects for all 7,900 languages held 6.3 MB in every web worker, for the few
    names a catalogue shows."""
    with open(Path(pycountry.DATABASE_DIR) / "iso639-3.json", encoding="utf-8") as data:
        entries = json.load(data)["639-3"]
    names = {}
    for entry in entries:
        for key in ("alpha_3", "alpha_2"):
            if key in entry:
                names[entry[key]] = entry["name"]
    return names


def register(app: Flask) -> None:
    app.add_template_filter(language_name, "language_name")
    app.add_template_filter(money, "money")
    app.add_template_filter(local_time, "local_time")
