"""How one answer leads to the next call (OpenAPI links): a client, or schemathesis' stateful phase,
signs in, finds a club, joins it, gives to it, reads its notifications, refreshes and logs out.

A link can only hand on what an answer (or a declared parameter) holds: the access token a sign-in
answers goes on as the next call's Authorization; after that the client keeps sending it."""

from __future__ import annotations

BEARER = "Bearer {$response.body#/access_token}"
REFRESH = {"refresh_token": "$response.body#/refresh_token"}


def link(operation_id: str, description: str, *, body=None, **parameters) -> dict:
    found = {"operationId": operation_id, "description": description}
    if parameters:
        found["parameters"] = {name.replace("__", "."): value for name, value in parameters.items()}
    if body is not None:
        found["requestBody"] = body
    return found


def signed_in(header: str) -> dict:
    return {
        "me": link("getMe", "Who signed in", header__Authorization=header),
        "clubs": link("listClubs", "The club directory", header__Authorization=header),
        "notifications": link("listNotifications", "Your notifications", header__Authorization=header),
    }


# operationId → status → name → link
LINKS: dict[str, dict[int, dict[str, dict]]] = {
    "createToken": {
        200: {
            **signed_in(BEARER),
            "refresh": link("refreshToken", "Rotate the refresh token", body=REFRESH),
            "logout": link("logout", "Log out", body=REFRESH),
        }
    },
    "refreshToken": {
        200: {
            **signed_in(BEARER),
            "refresh": link("refreshToken", "Rotate the new refresh token", body=REFRESH),
            "logout": link("logout", "Log out", body=REFRESH),
        }
    },
    "listClubs": {
        200: {
            "club": link("getClub", "The first club", path__slug="$response.body#/items/0/slug"),
            "join": link("joinClub", "Join the first club", path__slug="$response.body#/items/0/slug"),
        }
    },
    "joinClub": {
        201: {
            "club": link("getClub", "The club joined", path__slug="$response.body#/club"),
            "donate": link("donateToClub", "Give to it", path__slug="$response.body#/club"),
            "offer": link("offerBook", "Offer it a book", path__slug="$response.body#/club"),
            "leave": link("leaveClub", "Leave it", path__slug="$response.body#/club"),
        }
    },
    "donateToClub": {
        201: {
            "donations": link("listMyDonations", "Your donations"),
            "notifications": link("listNotifications", "Your notifications"),
        }
    },
    "listNotifications": {
        200: {
            "read": link(
                "markNotificationsRead",
                "Mark the newest read",
                body={"ids": ["$response.body#/items/0/id"]},
            ),
        }
    },
    "listBooks": {200: {"book": link("getBook", "The first book", path__book_id="$response.body#/items/0/id")}},
    "listContests": {
        200: {
            "contest": link("getContest", "The first contest", path__contest_id="$response.body#/items/0/id"),
            "leaderboard": link("getLeaderboard", "Its standings", path__contest_id="$response.body#/items/0/id"),
            "enter": link("enterContest", "Enter it", path__contest_id="$response.body#/items/0/id"),
        }
    },
}


def add_links(paths: dict) -> None:
    """Put each operation's links on its responses."""
    for operations in paths.values():
        for operation in operations.values():
            if isinstance(operation, dict):
                for status, links in LINKS.get(operation.get("operationId"), {}).items():
                    operation["responses"][str(status)]["links"] = links
