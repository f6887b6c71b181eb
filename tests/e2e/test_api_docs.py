"""The interactive API docs at /api/v1/docs: Swagger UI from vendored files, under the site's CSP."""

from __future__ import annotations


def test_the_api_docs_render_the_document_without_breaking_the_csp(page, live_server):
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text) if "Content Security" in message.text else None)
    outside: list[str] = []
    page.on("request", lambda request: outside.append(request.url) if not request.url.startswith(live_server) else None)
    response = page.goto("/api/v1/docs")
    assert response.status == 200
    assert "unsafe-inline" not in response.headers["content-security-policy"]
    page.get_by_text("Book Commerce API").first.wait_for()
    page.get_by_text("/clubs/{slug}/join").first.wait_for()  # the operations, from /api/v1/openapi.json
    assert violations == []
    assert outside == []  # every asset is ours
