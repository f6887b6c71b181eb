"""The WSGI entry for the benchmark: the real app plus ``/bench/hello``, the floor pages are compared with.

``gunicorn bench.app:app`` (settings from the environment, like ``wsgi.py``). The hello route lives
here so the product never serves it. ``BENCH_CACHE=off`` swaps the fragment cache for a NullCache,
to measure the pages as a cold cache serves them.
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
