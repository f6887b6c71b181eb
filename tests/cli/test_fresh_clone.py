"""`make migrate` on a fresh clone: no instance/ folder yet, no settings in the environment."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# What a clone holds that the app needs at run time (tests, docs and the venv are not needed).
APP_FILES = ["app", "migrations", "templates", "static", "config.py", "wsgi.py"]


def test_db_upgrade_works_in_a_fresh_clone(tmp_path):
    clone = tmp_path / "clone"
    clone.mkdir()
    for name in APP_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, clone / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, clone / name)
    assert not (clone / "instance").exists()
    env = {
        key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "SECRET_KEY", "INSTANCE_PATH")
    }
    env.update(APP_ENV="development", FLASK_APP="wsgi:app", REDIS_URL="", MAIL_SERVER="", OUTBOX_DIR="")

    # What `make migrate` runs (`make seed` starts the same way: `flask seed demo`).
    result = subprocess.run(
        [sys.executable, "-m", "flask", "db", "upgrade"], cwd=clone, env=env, capture_output=True, text=True
    )

    assert result.returncode == 0, result.stderr[-2000:]
    assert (clone / "instance" / "bookcommerce.db").stat().st_size > 0
    key_file = clone / "instance" / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600 and len(key_file.read_text().strip()) >= 32
