"""docker-compose.yml: one YAML mapping Compose can read, running the processes docs/deploy.md lists."""

import yaml

from tests.deploy import K8S, ROOT


class StrictLoader(yaml.SafeLoader):
    """PyYAML keeps the last of two equal keys; Compose refuses the file. So refuse it here too."""

    def construct_mapping(self, node, deep=False):
        keys = [key.value for key, _ in node.value if key.tag != "tag:yaml.org,2002:merge"]
        duplicates = {key for key in keys if keys.count(key) > 1}
        assert not duplicates, f"line {node.start_mark.line + 1}: {sorted(duplicates)} given twice"
        return super().construct_mapping(node, deep)


def compose() -> dict:
    return yaml.load((ROOT / "docker-compose.yml").read_text(), StrictLoader)  # noqa: S506 - a SafeLoader


def test_compose_file_has_each_key_once():
    assert set(compose()["services"]) == {"migrate", "web", "worker", "mail-worker", "db", "redis", "nginx"}


def test_compose_and_kubernetes_run_the_same_worker_commands():
    services = compose()["services"]
    for name in ("worker", "mail-worker"):
        manifest = yaml.safe_load((K8S / f"{name}-deployment.yaml").read_text())
        assert services[name]["command"] == manifest["spec"]["template"]["spec"]["containers"][0]["command"]
