"""The site and the app share one account: one guessing budget, one log out everywhere."""

from tests.helpers import PASSWORD, login_as, make_user


def test_web_and_api_failures_share_one_guessing_budget(app, client):
    with app.app_context():
        make_user()
    for _ in range(3):
        assert (
            client.post("/auth/login", data={"email": "reader@example.com", "password": "wrong-pass"}).status_code
            == 422
        )
    for _ in range(2):
        api = client.post("/api/v1/auth/token", json={"email": "reader@example.com", "password": "wrong-pass"})
        assert api.status_code == 401
    blocked = client.post("/api/v1/auth/token", json={"email": "reader@example.com", "password": PASSWORD})
    assert blocked.status_code == 429
    assert blocked.mimetype == "application/problem+json"


def test_logging_out_everywhere_on_the_site_signs_the_app_out(app, client):
    with app.app_context():
        make_user()
    tokens = client.post("/api/v1/auth/token", json={"email": "reader@example.com", "password": PASSWORD}).get_json()
    login_as(client)
    client.post("/auth/logout")
    again = app.test_client().post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert again.status_code == 401
    me = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 401


def test_log_in_next_refuses_control_characters(app, client):
    with app.app_context():
        make_user()
    response = client.post(
        "/auth/login?next=/%09/evil.example/", data={"email": "reader@example.com", "password": PASSWORD}
    )
    assert response.headers["Location"] == "/"
