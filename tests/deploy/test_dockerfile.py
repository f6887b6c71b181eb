"""The Dockerfile: hadolint finds nothing, and its install step works, proven without Docker.

No container engine runs where this is tested, so the image's RUN line that installs the
dependencies is run as written in a fresh virtualenv of the same Python, and the app and the
commands the manifests start are then loaded from that virtualenv alone (not the dev one).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import venv

from tests.deploy import BIN, ROOT

DOCKERFILE = ROOT / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(instruction, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(
        r"\\\n", " ", "\n".join(line for line in DOCKERFILE.read_text().splitlines() if not line.startswith("#"))
    )
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in text.splitlines() if line.strip()]


def test_hadolint_finds_nothing():
    # Not even "info": no rule is ignored (no .hadolint.yaml), so there is nothing left to explain.
    result = subprocess.run(
        [BIN / "hadolint", "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60
    )
    assert (result.returncode, result.stdout + result.stderr) == (0, "")
    assert not (ROOT / ".hadolint.yaml").exists()


def test_hadolint_would_report_a_user_by_name(tmp_path):
    # The check above can fail: DL3066 is what the Dockerfile had before its user got a number.
    named = tmp_path / "Dockerfile"
    named.write_text(DOCKERFILE.read_text().replace("USER 10001:10001", "USER app"))
    result = subprocess.run([BIN / "hadolint", "--no-color", str(named)], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "DL3066" in result.stdout


def test_the_image_runs_as_a_numeric_non_root_user_with_a_healthcheck():
    steps = dict(instructions())  # the last of each instruction wins
    user, group = steps["USER"].split(":")
    assert int(user) >= 1000 and int(group) >= 1000
    runs = [args for kind, args in instructions() if kind == "RUN"]
    assert any(f"--uid {user}" in args and f"--gid {group}" in args for args in runs), "USER is not the user made"
    assert "healthcheck.py" in steps["HEALTHCHECK"] and "/healthz" in steps["HEALTHCHECK"]


def test_the_install_step_works_in_a_fresh_virtualenv(tmp_path):
    base = next(args for kind, args in instructions() if kind == "FROM")
    assert base.startswith(f"python:{sys.version_info.major}.{sys.version_info.minor}-"), (
        f"the image uses {base}, the test runs Python {sys.version_info.major}.{sys.version_info.minor}"
    )
    image_env = {}
    for kind, args in instructions():
        if kind == "ENV":
            image_env.update(dict(re.findall(r"(\w+)=(\S+)", args)))
    installs = [args for kind, args in instructions() if kind == "RUN" and re.match(r"pip install\b", args)]
    assert installs == ["pip install -r requirements.txt"], installs

    # The build context at that point: WORKDIR /app with requirements.txt copied in.
    (tmp_path / "requirements.txt").write_text((ROOT / "requirements.txt").read_text())
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    env = {**os.environ, **image_env, "PATH": f"{env_dir / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    env.pop("PYTHONPATH", None)
    for command in installs:
        result = subprocess.run(
            shlex.split(command), cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900
        )
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    check = subprocess.run([env_dir / "bin" / "pip", "check"], env=env, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout

    # The app, from that virtualenv only: the production settings load, every module imports, and
    # the programs the image and the manifests start are installed.
    production = {
        **env,
        "APP_ENV": "production",
        "SECRET_KEY": "x" * 48,
        "BASE_URL": "https://bookcommerce.example.com",
        "ALLOW_SIMULATED_PAYMENTS": "1",
        "REDIS_URL": "redis://127.0.0.1:6379/0",  # read, never connected to here
        "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "PROMETHEUS_MULTIPROC_DIR": "",
    }
    program = (
        "import pkgutil, importlib, app, wsgi\n"
        "for module in pkgutil.walk_packages(app.__path__, 'app.'):\n"
        "    importlib.import_module(module.name)\n"
        "print(wsgi.app.config['ENV_NAME'])\n"
    )
    loaded = subprocess.run(
        [env_dir / "bin" / "python", "-I", "-c", f"import sys; sys.path.insert(0, {str(ROOT)!r})\n{program}"],
        cwd=tmp_path,
        env=production,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    assert loaded.stdout.strip().splitlines()[-1] == "production"
    for program_name in ("gunicorn", "flask"):
        assert (env_dir / "bin" / program_name).exists(), f"{program_name} is not installed by requirements.txt"
