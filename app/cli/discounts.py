"""``flask discounts``: create, list and disable discount codes."""

from datetime import datetime

import click
from sqlalchemy import select

from app.cli import CommandGroup, exit_on
from app.cli.audit import record_admin_action
from app.extensions import db
from app.formatting import money
from app.models import DiscountCode
from app.pricing import PricingError
from app.pricing import discounts as services
from app.pricing.money import parse_amount

discounts = CommandGroup("discounts", help="Discount codes.")


def _state(code: DiscountCode) -> str:
    if not code.active:
        return "disabled"
    if code.expires_at is not None and code.expires_at < datetime.now(code.expires_at.tzinfo):
        return "expired"
    if code.max_uses is not None and code.uses >= code.max_uses:
        return "used up"
    return "active"


@discounts.command("list")
def list_codes() -> None:
    """Every code: what it gives, its conditions, uses and state."""
    codes = list(db.session.scalars(select(DiscountCode).order_by(DiscountCode.code)))
    for code in codes:
        conditions = []
        if code.min_subtotal_cents:
            conditions.append(f"min {money(code.min_subtotal_cents)}")
        if code.expires_at:
            conditions.append(f"until {code.expires_at:%Y-%m-%d}")
        if code.max_uses_per_customer:
            conditions.append(f"{code.max_uses_per_customer}/customer")
        uses = f"{code.uses}/{code.max_uses}" if code.max_uses is not None else f"{code.uses}/-"
        click.echo(
            f"{code.code:<16} {services.describe(code):<12} {', '.join(conditions) or '-':<36} "
            f"{uses:>9} used  {_state(code)}"
        )
    click.echo(f"{len(codes)} code(s).")


def _day(value: str | None, option: str):
    if value is None:
        return None
    try:
        return datetime.strptime(value.strip(), "%Y-%m-%d").date()
    except ValueError:
        raise click.ClickException(f"{option} must be a date such as 2026-12-31, not {value!r}") from None


@discounts.command("create")
@click.argument("code")
@click.option("--percent", type=int, help="Whole percentage off the books, 1-100.")
@click.option("--amount", help="Dollars off the books, e.g. 5.00.")
@click.option("--min", "minimum", help="Dollars of books needed to use it.")
@click.option("--starts", help="First day it works, YYYY-MM-DD (UTC).")
@click.option("--expires", help="Last day it works, YYYY-MM-DD (UTC).")
@click.option("--max-uses", type=int, help="Uses in all.")
@click.option("--per-customer", type=int, help="Uses per customer (by email or account).")
def create(
    code: str,
    percent: int | None,
    amount: str | None,
    minimum: str | None,
    starts: str | None,
    expires: str | None,
    max_uses: int | None,
    per_customer: int | None,
) -> None:
    """Create a code giving --percent or --amount off."""
    with exit_on(PricingError):
        amount_cents = parse_amount(amount, what="--amount") if amount is not None else None
        min_cents = parse_amount(minimum, what="--min") if minimum is not None else 0
        row = services.create_code(
            code,
            percent=percent,
            amount_cents=amount_cents,
            min_subtotal_cents=min_cents,
            starts_on=_day(starts, "--starts"),
            expires_on=_day(expires, "--expires"),
            max_uses=max_uses,
            max_uses_per_customer=per_customer,
        )
    record_admin_action("discounts create", row.code)
    click.echo(f"Code {row.code} created: {services.describe(row)}.")


@discounts.command("disable")
@click.argument("code")
def disable(code: str) -> None:
    """Stop a code from being used."""
    with exit_on(PricingError):
        row = services.disable_code(code)
    record_admin_action("discounts disable", row.code)
    click.echo(f"Code {row.code} disabled.")
