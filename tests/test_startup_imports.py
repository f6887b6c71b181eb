"""A web worker does not load the libraries that only a few requests need (issue 14: memory).

fpdf2 (with fontTools), Pillow, rapidfuzz, markdown-it and nh3 cost a worker about 20 MB together;
they are imported by the function that needs them. A new module-level import of one of them
brings the cost back to every worker, and this test names it.
"""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ON_DEMAND = ["fpdf", "fontTools", "PIL", "rapidfuzz", "markdown_it", "nh3", "stripe"]

PROBE = f"""
import json, sys
from app import create_app
create_app("testing")
print(json.dumps(sorted(name for name in {ON_DEMAND!r} if name in sys.modules)))
"""


def test_a_fresh_app_has_not_loaded_the_on_demand_libraries():
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
