"""Helpers for the observability tests: read /metrics as Prometheus would."""

from prometheus_client.parser import text_string_to_metric_families


def scrape(client, **kwargs) -> str:
    response = client.get("/metrics", **kwargs)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def sample(text: str, name: str, **labels) -> float:
    """The value of one sample (0 when the series does not exist yet)."""
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == name and all(found.labels.get(k) == v for k, v in labels.items()):
                return found.value
    return 0.0


def moved(before: str, after: str, name: str, **labels) -> float:
    """How far a sample moved between two scrapes."""
    return sample(after, name, **labels) - sample(before, name, **labels)
