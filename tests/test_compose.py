"""docker-compose.yml: one YAML mapping Compose can read, running the processes docs/deploy.md lists."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


class StrictLoader(yaml.SafeLoader):
    """PyYAML keeps the last of two equal keys; Compose refuses the file. So refuse it here too."""

    def construct_mapping(self, node, deep=False):
        keys = [key.value for key, _ in node.value if key.tag != "tag:yaml.org,2002:merge"]
        duplicates = {key for key in keys if keys.count(key) > 1}
        assert not duplicates, f"line {node.start_mark.line + 1}: {sorted(duplicates)} given twice"
        return super().construct_mapping(node, deep)


def compose() -> dict:
    return yaml.load((ROOT / "docker-compose.yml").read_text(), StrictLoader)  # noqa: S506 - a SafeLoader


def test_the_compose_file_reads_and_runs_every_process():
    services = compose()["services"]
    assert set(services) == {"migrate", "web", "worker", "mail-worker", "db", "redis", "nginx"}
    assert services["worker"]["command"] == ["flask", "jobs", "worker", "--queue", "default"]
    assert services["mail-worker"]["command"] == ["flask", "jobs", "worker", "--queue", "mail", "--simple"]
    assert services["web"]["command"][0] == "gunicorn"
