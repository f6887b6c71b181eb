"""Webview mode: pages opened inside the mobile app's webview (the "shell") leave out the site's own navigation.

The shell marks its requests with ``BookCommerceShell`` in the User-Agent; it draws its own tabs.
"""

from flask import Flask, has_request_context, request

from app.htmx import vary_html_on

SHELL_MARKER = "BookCommerceShell"


def in_shell() -> bool:
    # Emails and jobs render templates with no request: they are never in the shell.
    return has_request_context() and SHELL_MARKER in request.headers.get("User-Agent", "")


def register(app: Flask) -> None:
    @app.context_processor
    def shell_context() -> dict:
        return {"in_shell": in_shell()}

    # The same URL renders with or without the header and footer, depending on who asks.
    vary_html_on("User-Agent")
