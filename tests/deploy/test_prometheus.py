"""deploy/prometheus/alerts.yml and deploy/grafana/bookcommerce.json: valid, tested, and about
series the app really serves on /metrics."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import need
from tests.deploy import DEPLOY
from tests.observability import scrape

ALERTS = DEPLOY / "prometheus" / "alerts.yml"
ALERT_TESTS = DEPLOY / "prometheus" / "alerts_test.yml"
DASHBOARD = DEPLOY / "grafana" / "bookcommerce.json"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"

# The sample names each family type serves (prometheus-client's text format).
SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("", "_count", "_sum", "_created"),
}


def promtool(*args) -> subprocess.CompletedProcess:
    need("promtool", bool(shutil.which("promtool")), "apt-get install prometheus (it ships promtool)")
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=120)


def test_promtool_accepts_the_rules():
    result = promtool("check", "rules", str(ALERTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 7 rules found" in result.stdout


def test_the_alerts_pass_their_unit_tests():
    result = promtool("test", "rules", str(ALERT_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_broken_threshold_fails_the_unit_tests(tmp_path):
    # The unit tests can fail: with the 5xx threshold at 20 %, the 10 % case no longer pages.
    (tmp_path / "alerts.yml").write_text(ALERTS.read_text().replace(") > 0.02", ") > 0.2"))
    (tmp_path / "alerts_test.yml").write_text(ALERT_TESTS.read_text())
    result = promtool("test", "rules", str(tmp_path / "alerts_test.yml"))
    assert result.returncode != 0
    assert "BookCommerceHigh5xxRate" in result.stdout + result.stderr


def dashboard_expressions() -> list[str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [target["expr"] for panel in panels for target in panel.get("targets", [])]


def used_names() -> set[str]:
    text = ALERTS.read_text() + "\n".join(dashboard_expressions())
    return set(re.findall(r"\bbookcommerce_[a-z0-9_]+\b", text))


def served_names(text: str) -> set[str]:
    names = set()
    for family in text_string_to_metric_families(text):
        names.update(family.name + suffix for suffix in SUFFIXES.get(family.type, ("",)))
    return names


@pytest.mark.redis
def test_every_series_the_dashboard_and_alerts_use_is_served(redis_app):
    # With Redis, as deployed: the queue gauges come from a collector that reads it.
    served = served_names(scrape(redis_app.test_client()))
    assert {"bookcommerce_rq_queue_depth", "bookcommerce_http_request_duration_seconds_bucket"} <= served
    assert {"bookcommerce_circuit_breaker_state", "bookcommerce_circuit_breaker_transitions_total"} <= used_names()
    missing = used_names() - served
    assert not missing, f"not on /metrics: {sorted(missing)}"


def test_the_dashboard_covers_what_the_issue_lists():
    used = used_names()
    for name in (
        "bookcommerce_http_requests_total",  # request rate
        "bookcommerce_http_request_duration_seconds_bucket",  # latency percentiles
        "bookcommerce_http_errors_total",  # errors per endpoint
        "bookcommerce_rq_queue_depth",  # queue depth
        "bookcommerce_rq_failed_jobs",  # failures
        "bookcommerce_payments_confirmed_total",
        "bookcommerce_donations_confirmed_total",
        "bookcommerce_circuit_breaker_state",
    ):
        assert any(name in expr for expr in dashboard_expressions()), name
    assert used


@pytest.mark.parametrize("expr", dashboard_expressions())
def test_each_dashboard_query_is_valid_promql(expr, tmp_path):
    # promtool parses a rule's expression: wrap each query in one. Grafana's own variables are
    # replaced by what Grafana would put there.
    query = expr.replace("$__rate_interval", "1m")
    rules = {"groups": [{"name": "dashboard", "rules": [{"record": "dashboard:query", "expr": query}]}]}
    path = tmp_path / "query.yml"
    path.write_text(json.dumps(rules))
    result = promtool("check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_dashboard_panels_have_unique_ids_and_use_the_chosen_data_source():
    dashboard = json.loads(DASHBOARD.read_text())
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    assert dashboard["templating"]["list"][0] == {**dashboard["templating"]["list"][0], "name": "datasource"}
    for panel in dashboard["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
