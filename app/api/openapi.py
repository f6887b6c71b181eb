"""The OpenAPI 3.1 contract at /api/v1/openapi.json, assembled from each endpoint's description.

Every API module describes its operations with ``describe(path, method, operation)`` next to the
view, and shared shapes live in ``COMPONENTS``; tests (schemathesis) hold the API to this document.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify

from app.api import bp

PATHS: dict[str, dict[str, Any]] = {}


def describe(path: str, method: str, operation: dict[str, Any]) -> None:
    PATHS.setdefault(path, {})[method.lower()] = operation


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def json_content(schema: dict) -> dict:
    return {"application/json": {"schema": schema}}


PROBLEM = {"application/problem+json": {"schema": ref("Problem")}}


def problems(*codes: int) -> dict:
    text = {
        400: "Bad request",
        401: "Not signed in or token invalid",
        403: "Not allowed",
        404: "Not found",
        409: "Conflict",
        422: "Invalid input",
        429: "Too many attempts",
    }
    return {str(code): {"description": text[code], "content": PROBLEM} for code in codes}


COMPONENTS: dict[str, Any] = {
    "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
    "schemas": {
        "Problem": {
            "type": "object",
            "required": ["type", "title", "status", "detail"],
            "properties": {
                "type": {"type": "string"},
                "title": {"type": "string"},
                "status": {"type": "integer"},
                "detail": {"type": "string"},
                "errors": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
            },
        },
        "TokenPair": {
            "type": "object",
            "required": ["access_token", "token_type", "expires_in", "refresh_token"],
            "properties": {
                "access_token": {"type": "string"},
                "token_type": {"const": "Bearer"},
                "expires_in": {"type": "integer"},
                "refresh_token": {"type": "string"},
                "device_token": {
                    "type": "string",
                    "description": "From a sign-in: send it with later sign-ins (known device, own guessing budget).",
                },
            },
        },
    },
}

SECURED = [{"bearer": []}]

describe(
    "/auth/token",
    "post",
    {
        "summary": "Sign in: email and password for an access and a refresh token",
        "operationId": "createToken",
        "requestBody": {
            "required": True,
            "content": json_content(
                {
                    "type": "object",
                    "required": ["email", "password"],
                    "properties": {
                        "email": {"type": "string"},
                        "password": {"type": "string"},
                        "device_token": {"type": "string"},
                    },
                }
            ),
        },
        "responses": {
            "200": {"description": "Tokens", "content": json_content(ref("TokenPair"))},
            **problems(400, 401, 403, 422, 429),
        },
    },
)
describe(
    "/auth/refresh",
    "post",
    {
        "summary": "Rotate a refresh token (a reused one revokes its family)",
        "operationId": "refreshToken",
        "requestBody": {
            "required": True,
            "content": json_content(
                {
                    "type": "object",
                    "required": ["refresh_token"],
                    "properties": {"refresh_token": {"type": "string"}},
                }
            ),
        },
        "responses": {
            "200": {"description": "New tokens", "content": json_content(ref("TokenPair"))},
            **problems(400, 401, 422),
        },
    },
)
describe(
    "/auth/logout",
    "post",
    {
        "summary": "Revoke a refresh token",
        "operationId": "logout",
        "requestBody": {
            "required": True,
            "content": json_content(
                {
                    "type": "object",
                    "required": ["refresh_token"],
                    "properties": {"refresh_token": {"type": "string"}},
                }
            ),
        },
        "responses": {"204": {"description": "Revoked"}, **problems(400, 422)},
    },
)
describe(
    "/auth/web-session",
    "post",
    {
        "summary": "A one-time URL that opens the site in the webview, signed in",
        "operationId": "createWebSession",
        "security": SECURED,
        "requestBody": {
            "required": False,
            "content": json_content(
                {
                    "type": "object",
                    "properties": {"next": {"type": "string"}},
                }
            ),
        },
        "responses": {
            "201": {
                "description": "The link",
                "content": json_content(
                    {
                        "type": "object",
                        "required": ["url", "expires_in"],
                        "properties": {"url": {"type": "string"}, "expires_in": {"type": "integer"}},
                    }
                ),
            },
            **problems(400, 401, 422),
        },
    },
)


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Book Commerce API",
            "version": "1.0.0",
            "description": "The JSON API behind the Book Commerce mobile shell.",
        },
        "servers": [{"url": "/api/v1"}],
        "paths": {path: PATHS[path] for path in sorted(PATHS)},
        "components": COMPONENTS,
    }


@bp.route("/openapi.json")
def openapi_json():
    return jsonify(document())
