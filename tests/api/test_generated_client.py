"""A Python client generated from the published document (openapi-python-client) builds without a
warning and talks to the API: what a developer of the shell, or of a script, would do."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.api import API
from tests.helpers import PASSWORD, make_user

BIN = Path(sys.executable).parent


@pytest.fixture
def generated(client, tmp_path):
    """The client package generated from /api/v1/openapi.json, importable for this test."""
    document = tmp_path / "openapi.json"
    document.write_bytes(client.get(f"{API}/openapi.json").get_data())
    result = subprocess.run(
        [BIN / "openapi-python-client", "generate", "--path", document, "--output-path", tmp_path / "client"],
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"},  # its ruff post-hooks
        check=False,
    )
    sys.path.insert(0, str(tmp_path / "client"))
    yield result
    sys.path.remove(str(tmp_path / "client"))
    for name in [name for name in sys.modules if name.startswith("book_commerce_api_client")]:
        del sys.modules[name]


def test_a_generated_python_client_builds_cleanly_and_signs_in(app, generated):
    assert generated.returncode == 0, generated.stdout + generated.stderr
    assert "Warning" not in generated.stdout + generated.stderr, generated.stdout
    from book_commerce_api_client import AuthenticatedClient, Client
    from book_commerce_api_client.api.auth import create_token
    from book_commerce_api_client.api.me import get_me
    from book_commerce_api_client.models import TokenRequest

    with app.app_context():
        make_user(email="reader@example.com", name="Rosa Reader")
    wsgi = {"transport": httpx.WSGITransport(app=app)}
    anonymous = Client(base_url=f"http://localhost{API}", httpx_args=wsgi)
    tokens = create_token.sync(client=anonymous, body=TokenRequest(email="reader@example.com", password=PASSWORD))
    reader = AuthenticatedClient(base_url=f"http://localhost{API}", token=tokens.access_token, httpx_args=wsgi)
    me = get_me.sync(client=reader)
    assert (me.email, me.name, me.unread_notifications) == ("reader@example.com", "Rosa Reader", 0)
