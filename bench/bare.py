"""The floor every row is compared with: a bare Flask hello-world, served exactly like the app.

``gunicorn -c /dev/null -w 2 bench.bare:app``: no extensions, no hooks, no database.
"""

from flask import Flask

app = Flask(__name__)


@app.get("/bench/hello")
def hello() -> str:
    return "hello"
