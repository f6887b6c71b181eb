"""What schemathesis needs to know that a JSON Schema cannot say: how to write a valid ISBN (its check
digit). Loaded by the contract test, and by ``make contract`` (SCHEMATHESIS_HOOKS=tests.api.contract_hooks)."""

import schemathesis
from hypothesis import strategies as st

from app.catalogue.isbn import isbn13_check_digit


def _isbn13(first12: str) -> str:
    return first12 + isbn13_check_digit(first12)


ISBNS = st.builds(
    _isbn13,
    st.sampled_from(["978", "979"]).flatmap(
        lambda p: st.text("0123456789", min_size=9, max_size=9).map(lambda rest: p + rest)
    ),
)

schemathesis.openapi.format("isbn", ISBNS)
