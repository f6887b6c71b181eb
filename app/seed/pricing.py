"""Demo shipping, tax and discount codes: a US shop (prices in US dollars, tax added at checkout) that
ships to North America, Europe and most of the world.

Seeded only where nothing is set up yet, so an admin's own rates are never touched.
"""

import pycountry
from sqlalchemy import func, select

from app.extensions import db
from app.models import DiscountCode, DiscountKind, ShippingMethod, ShippingZone, ShippingZoneCountry, TaxRate

EU = [
    "AT",
    "BE",
    "BG",
    "HR",
    "CY",
    "CZ",
    "DK",
    "EE",
    "FI",
    "FR",
    "DE",
    "GR",
    "HU",
    "IE",
    "IT",
    "LV",
    "LT",
    "LU",
    "MT",
    "NL",
    "PL",
    "PT",
    "RO",
    "SK",
    "SI",
    "ES",
    "SE",
]
# Places the demo shop's carrier does not serve (sanctions, no postal service): "We don't ship to ...".
NOT_SERVED = {"AQ", "BY", "CU", "IR", "KP", "RU", "SY"}

US, NORTH_AMERICA, EUROPE, WORLD = "United States", "Canada & Mexico", "Europe", "Rest of world"

# zone: [(method, kind, amount, per item, free over, estimate)], in cents.
METHODS = {
    US: [
        ("Standard", "free_over", 499, 0, 5000, "3-5 working days"),
        ("Express", "flat", 1299, 0, None, "1-2 working days"),
    ],
    NORTH_AMERICA: [
        ("Standard", "per_item", 799, 150, None, "5-10 working days"),
        ("Express", "flat", 2499, 0, None, "2-4 working days"),
    ],
    EUROPE: [
        ("Standard", "per_item", 1199, 200, None, "6-10 working days"),
        ("Express", "flat", 2999, 0, None, "3-5 working days"),
    ],
    WORLD: [
        ("Standard", "per_item", 1499, 300, None, "10-20 working days"),
        ("Express", "flat", 3999, 0, None, "4-7 working days"),
    ],
}

# (country, region, basis points, name, taxes shipping): books' reduced rates where there are some.
TAX_RATES = [
    ("US", "CA", 725, "California sales tax 7.25%", False),
    ("US", "NY", 400, "New York sales tax 4%", True),
    ("US", "TX", 625, "Texas sales tax 6.25%", True),
    ("US", "WA", 650, "Washington sales tax 6.5%", True),
    ("CA", "", 500, "GST 5%", True),
    ("FR", "", 550, "TVA 5.5% (livres)", True),
    ("DE", "", 700, "MwSt. 7% (Bücher)", True),
    ("IT", "", 400, "IVA 4% (libri)", True),
    ("ES", "", 400, "IVA 4% (libros)", True),
    ("GB", "", 0, "VAT 0% (books)", False),
]

# (code, kind, value, minimum, per customer)
CODES = [
    ("WELCOME10", DiscountKind.PERCENT, 10, 2000, 1),
    ("BOOKCLUB5", DiscountKind.FIXED, 500, 0, None),
]


def zone_countries() -> dict[str, list[str]]:
    europe = sorted({*EU, "GB", "CH", "NO"})
    near = {"US", "CA", "MX", *europe}
    world = sorted(c.alpha_2 for c in pycountry.countries if c.alpha_2 not in near | NOT_SERVED)
    return {US: ["US"], NORTH_AMERICA: ["CA", "MX"], EUROPE: europe, WORLD: world}


def seed_pricing() -> str:
    """Zones with their methods, tax rates and two codes, each part only if none exists yet."""
    made = []
    if not db.session.scalar(select(func.count(ShippingZone.id))):
        for name, codes in zone_countries().items():
            zone = ShippingZone(name=name, countries=[ShippingZoneCountry(country_code=c) for c in codes])
            zone.methods = [
                ShippingMethod(
                    name=method,
                    kind=kind,
                    amount_cents=amount,
                    per_item_cents=per_item,
                    free_over_cents=free_over,
                    estimate=estimate,
                    active=True,
                )
                for method, kind, amount, per_item, free_over, estimate in METHODS[name]
            ]
            db.session.add(zone)
        made.append(f"{len(METHODS)} shipping zones")
    if not db.session.scalar(select(func.count(TaxRate.id))):
        db.session.add_all(
            TaxRate(country_code=c, region=r, rate_bp=bp, name=n, applies_to_shipping=s) for c, r, bp, n, s in TAX_RATES
        )
        made.append(f"{len(TAX_RATES)} tax rates")
    if not db.session.scalar(select(func.count(DiscountCode.id))):
        db.session.add_all(
            DiscountCode(
                code=code, kind=kind, value=value, min_subtotal_cents=minimum, max_uses_per_customer=per_customer
            )
            for code, kind, value, minimum, per_customer in CODES
        )
        made.append(f"codes {', '.join(code for code, *_ in CODES)}")
    db.session.commit()
    if not made:
        return "Demo shipping, tax and codes: already set up, none added."
    return f"Demo shipping, tax and codes: {'; '.join(made)} added."
