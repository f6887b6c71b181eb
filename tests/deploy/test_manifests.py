"""deploy/k8s/: valid for the pinned Kubernetes, and consistent with the image and the app they run."""

from __future__ import annotations

import functools
import re
import subprocess
import sys
import time
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import yaml

from config import Config
from tests.conftest import need
from tests.deploy import BIN, K8S, ROOT

# The Kubernetes version the manifests are written for (kubernetes-validate ships its schemas).
KUBERNETES_VERSION = "1.34.0"
# example/ holds the Secret's shape: validated too, never applied with the rest.
MANIFESTS = sorted(K8S.glob("*.yaml")) + sorted(K8S.glob("example/*.yaml"))
IMAGE = "registry.example.com/bookcommerce:1.0.0"


def validate(*paths) -> subprocess.CompletedProcess:
    return subprocess.run(
        [BIN / "kubernetes-validate", "--strict", "-k", KUBERNETES_VERSION, *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
    )


@functools.cache
def resources() -> tuple[dict, ...]:
    return tuple(doc for path in MANIFESTS for doc in yaml.safe_load_all(path.read_text()) if doc)


def named(kind: str, name: str) -> dict:
    return next(r for r in resources() if r["kind"] == kind and r["metadata"]["name"] == name)


def pod_specs() -> dict[str, dict]:
    """Every pod template, by the name of the resource that owns it."""
    specs = {}
    for r in resources():
        spec = r.get("spec", {})
        if r["kind"] == "CronJob":
            spec = spec["jobTemplate"]["spec"]
        if "template" in spec:
            specs[f"{r['kind']}/{r['metadata']['name']}"] = spec["template"]["spec"]
    return specs


def test_every_manifest_is_valid_for_the_pinned_kubernetes():
    result = validate(*MANIFESTS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count(" passed for resource ") == len(resources())


def test_the_validator_refuses_a_misspelt_field(tmp_path):
    # --strict is what catches a field Kubernetes would silently drop.
    broken = tmp_path / "web.yaml"
    broken.write_text((K8S / "web-deployment.yaml").read_text().replace("readinessProbe:", "readynessProbe:"))
    result = validate(broken)
    assert result.returncode != 0
    assert "readynessProbe" in result.stdout + result.stderr


def test_the_parts_the_issue_asks_for_are_there():
    kinds = {(r["kind"], r["metadata"]["name"]) for r in resources()}
    assert {
        ("Deployment", "bookcommerce-web"),
        ("HorizontalPodAutoscaler", "bookcommerce-web"),
        ("Deployment", "bookcommerce-worker"),
        ("Deployment", "bookcommerce-mail-worker"),
        ("Deployment", "bookcommerce-scheduler"),
        ("Job", "bookcommerce-migrate"),
        ("CronJob", "bookcommerce-close-due"),
        ("CronJob", "bookcommerce-mail-sweep"),
        ("Service", "bookcommerce-web"),
        ("Ingress", "bookcommerce"),
        ("PodDisruptionBudget", "bookcommerce-web"),
        ("NetworkPolicy", "default-deny"),
        ("Secret", "bookcommerce"),
    } <= kinds
    assert all(r["metadata"].get("namespace", "bookcommerce") == "bookcommerce" for r in resources())


@pytest.mark.parametrize("owner", sorted(pod_specs()))
def test_every_container_runs_as_the_images_non_root_user_on_a_read_only_filesystem(owner):
    spec = pod_specs()[owner]
    dockerfile = (ROOT / "Dockerfile").read_text()
    uid, gid = re.search(r"^USER (\d+):(\d+)$", dockerfile, re.M).groups()
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert (spec["securityContext"]["runAsUser"], spec["securityContext"]["runAsGroup"]) == (int(uid), int(gid))
    assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    assert spec["automountServiceAccountToken"] is False
    for container in spec["containers"]:
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] is True
        assert security["allowPrivilegeEscalation"] is False
        assert security["capabilities"]["drop"] == ["ALL"]
        assert container["image"] == IMAGE  # one image, one tag to bump per release
        requests = container["resources"]["requests"]
        assert requests["cpu"] and requests["memory"], f"{owner}: resource requests are missing"
        assert container["resources"]["limits"]["memory"]
        # Settings come from the ConfigMap and secrets from the Secret, never written inline.
        sources = {ref.get("secretRef", {}).get("name") for ref in container["envFrom"]}
        assert "bookcommerce" in sources
        for variable in container.get("env", []):
            assert not re.search(r"KEY|SECRET|PASSWORD|TOKEN|DATABASE_URL|REDIS_URL", variable["name"])


def test_no_secret_is_written_in_the_config_map():
    data = named("ConfigMap", "bookcommerce")["data"]
    secret = named("Secret", "bookcommerce")["stringData"]
    assert not set(data) & set(secret)
    assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "STRIPE_SECRET_KEY", "METRICS_TOKEN"} <= set(secret)


def test_probes_ask_for_readiness_and_liveness_with_the_host_the_app_serves():
    config = named("ConfigMap", "bookcommerce")["data"]
    host = urlsplit(config["BASE_URL"]).hostname
    assert host in config["TRUSTED_HOSTS"].split(",")
    web = named("Deployment", "bookcommerce-web")["spec"]["template"]["spec"]["containers"][0]
    assert web["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert web["livenessProbe"]["httpGet"]["path"] == "/healthz"
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert {"name": "Host", "value": host} in web[probe]["httpGet"]["httpHeaders"]
    ingress = named("Ingress", "bookcommerce")["spec"]
    assert [rule["host"] for rule in ingress["rules"]] == [host]
    assert ingress["tls"][0]["hosts"] == [host]


def test_the_web_pods_are_what_the_service_hpa_pdb_and_policy_select():
    web = named("Deployment", "bookcommerce-web")
    labels = web["spec"]["template"]["metadata"]["labels"]
    assert "replicas" not in web["spec"]  # the HPA owns the count
    for selector in (
        named("Service", "bookcommerce-web")["spec"]["selector"],
        named("PodDisruptionBudget", "bookcommerce-web")["spec"]["selector"]["matchLabels"],
        named("NetworkPolicy", "bookcommerce-web-ingress")["spec"]["podSelector"]["matchLabels"],
    ):
        assert selector.items() <= labels.items()
    hpa = named("HorizontalPodAutoscaler", "bookcommerce-web")["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "bookcommerce-web"}
    assert hpa["minReplicas"] > named("PodDisruptionBudget", "bookcommerce-web")["spec"]["minAvailable"]


def test_only_one_scheduler_ever_runs():
    scheduler = named("Deployment", "bookcommerce-scheduler")["spec"]
    assert scheduler["replicas"] == 1
    assert scheduler["strategy"]["type"] == "Recreate"


def flask_commands() -> list[list[str]]:
    commands = []
    for spec in pod_specs().values():
        for container in spec["containers"]:
            if container["command"][0] == "flask":
                commands.append(container["command"][1:])
    return commands


def test_the_flask_commands_the_manifests_run_exist(app):
    commands = flask_commands()
    assert ["db", "upgrade"] in commands and ["contests", "close-due"] in commands
    runner = app.test_cli_runner()
    for command in commands:
        result = runner.invoke(args=[*command, "--help"])
        assert result.exit_code == 0, f"flask {' '.join(command)}: {result.output}"


def scheduler_code() -> str:
    return named("Deployment", "bookcommerce-scheduler")["spec"]["template"]["spec"]["containers"][0]["command"][2]


def test_the_scheduler_serves_every_queue_the_app_has():
    assert f"RQScheduler({Config.RQ_QUEUES!r}".replace("'", '"') in scheduler_code()


@pytest.mark.redis
def test_the_scheduler_pod_moves_a_delayed_job_onto_its_queue(redis_url, tmp_path):
    url, why = redis_url
    need("Redis", url is not None, why)
    import redis
    from rq import Queue

    connection = redis.Redis.from_url(url)
    connection.flushdb()
    queue = Queue("default", connection=connection)
    job = queue.enqueue_in(timedelta(seconds=1), "builtins.print", "due")
    assert queue.count == 0
    # Only REDIS_URL, from outside the code tree: the pod runs it with the Secret alone.
    scheduler = subprocess.Popen([sys.executable, "-c", scheduler_code()], env={"REDIS_URL": url}, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 15
        while not queue.count and scheduler.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert queue.get_job_ids() == [job.id]
    finally:
        scheduler.terminate()
        # SIGTERM, as Kubernetes sends: it releases its locks and exits cleanly.
        assert scheduler.wait(timeout=15) == 0
        connection.flushdb()


def test_the_app_answers_the_probes_and_prometheus_by_the_host_names_the_manifests_use(base_settings):
    from app import create_app
    from tests.conftest import make_config

    config = named("ConfigMap", "bookcommerce")["data"]
    app = create_app(
        make_config(
            **{**base_settings, "BASE_URL": config["BASE_URL"], "TRUSTED_HOSTS": config["TRUSTED_HOSTS"].split(",")}
        )
    )
    client = app.test_client()
    web = named("Deployment", "bookcommerce-web")["spec"]["template"]["spec"]
    probe_host = web["containers"][0]["livenessProbe"]["httpGet"]["httpHeaders"][0]["value"]
    # What Prometheus sends when it scrapes a pod by its DNS name (docs/deploy.md's relabelling).
    pod_host = "10-42-0-17.bookcommerce.pod.cluster.local:8000"
    assert client.get("/healthz", headers={"Host": probe_host}).status_code == 200
    assert client.get("/healthz", headers={"Host": pod_host}).status_code == 200
    assert client.get("/healthz", headers={"Host": "10.42.0.17:8000"}).status_code == 400
