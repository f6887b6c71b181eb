"""Registration and password reset take as long for an address with an account as for one without,
so an attacker cannot learn who has an account by timing the answers.

Each test times 50 requests of each kind, interleaved (the order flips every round, so a slower
moment of a busy machine hits both kinds alike) after a warm-up, and compares the means of the
two kinds, trimmed of the slowest and fastest tenth (a stray pause of the machine is not the
app's doing). Every request uses a new address, as an attacker probing a list would: each one
records and sends one email through the outbox, whichever branch it takes.

Registration uses Argon2 at OWASP's minimum strength (19 MiB, two passes), not the suite's weak
parameters: the hash is the work a known address used to skip, and it must weigh as it would in
production (the app's defaults are stronger still, and too slow for 100 requests in a test).
"""

from __future__ import annotations

import statistics
import time

import pytest

from app import create_app
from tests.conftest import make_config
from tests.helpers import make_user, register_user

TRIES = 50
WARM_UP = 3
TOLERANCE = 0.20


def trimmed_mean(samples: list[float], share: float = 0.1) -> float:
    cut = int(len(samples) * share)
    kept = sorted(samples)[cut : len(samples) - cut]
    return statistics.fmean(kept)


def time_interleaved(request_known, request_unknown) -> tuple[list[float], list[float]]:
    """Seconds per request for each kind, over TRIES rounds (after WARM_UP untimed ones)."""
    known: list[float] = []
    unknown: list[float] = []
    for i in range(WARM_UP + TRIES):
        pair = [(request_known, known), (request_unknown, unknown)]
        for send, samples in pair if i % 2 == 0 else reversed(pair):
            started = time.perf_counter()
            send(i)
            elapsed = time.perf_counter() - started
            if i >= WARM_UP:
                samples.append(elapsed)
    return known, unknown


def assert_alike(known: list[float], unknown: list[float]) -> None:
    known_mean, unknown_mean = trimmed_mean(known), trimmed_mean(unknown)
    difference = abs(known_mean - unknown_mean) / min(known_mean, unknown_mean)
    assert difference < TOLERANCE, (
        f"known addresses answer in {known_mean * 1000:.1f} ms on average, unknown ones in "
        f"{unknown_mean * 1000:.1f} ms ({difference:.0%} apart; plain means "
        f"{statistics.fmean(known) * 1000:.1f} / {statistics.fmean(unknown) * 1000:.1f} ms)"
    )


@pytest.fixture
def accounts(app):
    """TRIES + WARM_UP active accounts (made with the suite's fast hash)."""
    with app.app_context():
        return [make_user(email=f"member{i}@example.com", name=f"Member {i}").email for i in range(TRIES + WARM_UP)]


@pytest.fixture
def strong_app(app, base_settings):
    """The test database and SMTP server, with Argon2 at OWASP's minimum strength."""
    return create_app(make_config(**base_settings, ARGON2_TIME_COST=2, ARGON2_MEMORY_COST=19456))


def test_registering_a_taken_address_takes_as_long_as_a_new_one(strong_app, accounts, inbox):
    client = strong_app.test_client()

    def register(email: str) -> None:
        assert register_user(client, email=email, name="Probe").status_code == 303

    known, unknown = time_interleaved(
        lambda i: register(accounts[i]),
        lambda i: register(f"newcomer{i}@example.com"),
    )
    assert_alike(known, unknown)
    # Both kinds were answered the same way, by email.
    assert inbox.wait_for(accounts[-1])[0]["Subject"] == "Someone tried to register with your email"
    assert inbox.wait_for(f"newcomer{WARM_UP + TRIES - 1}@example.com")[0]["Subject"].startswith("Confirm your email")


def test_asking_to_reset_a_known_address_takes_as_long_as_an_unknown_one(app, accounts, inbox):
    client = app.test_client()

    def reset(email: str) -> None:
        response = client.post("/auth/reset", data={"email": email})
        assert response.status_code == 303

    known, unknown = time_interleaved(
        lambda i: reset(accounts[i]),
        lambda i: reset(f"stranger{i}@example.com"),
    )
    assert_alike(known, unknown)
    assert "/auth/reset/" in inbox.wait_for(accounts[-1])[0].get_body(("plain",)).get_content()
    assert inbox.wait_for(f"stranger{WARM_UP + TRIES - 1}@example.com")
