"""The app under test: the real ``create_app()`` plus ``/bench/hello``.

``gunicorn bench.app:app`` (settings from the environment, like ``wsgi.py``). ``/bench/hello``
returns what bench/bare.py's route returns, so the difference between the two rows is the cost
of the app's hooks (request id, metrics, limiter, session, security headers...). The route lives
here so the product never serves it. ``BENCH_CACHE=off`` swaps the fragment cache for a
NullCache, to measure pages as a cold cache serves them.
"""

import os

from app import create_app
from config import config_for

settings = config_for()
if os.environ.get("BENCH_CACHE", "on").lower() == "off":
    settings = type("UncachedSettings", (settings,), {"CACHE_TYPE": "NullCache"})

app = create_app(settings)


@app.get("/bench/hello")
def hello() -> str:
    return "hello"
