"""The deployment files, checked with the tools that read them: kubernetes-validate, hadolint, promtool."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
# Console scripts of packages in requirements-dev.txt, next to the interpreter running the tests.
BIN = Path(sys.executable).parent
