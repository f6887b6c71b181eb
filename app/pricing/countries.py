"""Country codes and the names shoppers read, from pycountry."""

import pycountry

from app.pricing import PricingError


class UnknownCountry(PricingError):
    pass


def country_name(code: str) -> str:
    """``"US"`` -> ``"United States"``; the common name where pycountry has one (``"BO"`` -> ``"Bolivia"``)."""
    country = pycountry.countries.get(alpha_2=(code or "").upper())
    if country is None:
        return code
    return getattr(country, "common_name", None) or country.name


def country_code(text: str) -> str:
    """A checked ISO 3166-1 alpha-2 code, upper-case; refuses anything else."""
    code = (text or "").strip().upper()
    if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
        raise UnknownCountry(f"{text.strip()!r} is not a country code (use ISO codes such as US, FR, GB)")
    return code
