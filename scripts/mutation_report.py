"""Print the share of mutants killed per file, from mutmut's results in mutants/ (run by `make mutation`).

Killed counts mutants the tests caught (a failing test or a timeout). Survived, "no tests" and
suspicious mutants count against the file; mutants not run yet are listed but left out of the share.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from mutmut.stats import status_by_exit_code

CAUGHT = {"killed", "timeout", "caught by type check"}
NOT_RUN = {"not checked", "skipped", "check was interrupted by user"}


def main(root: Path = Path("mutants")) -> int:
    metas = sorted(root.rglob("*.py.meta"))
    if not metas:
        print("No mutation results: run `make mutation` first.")
        return 1
    print(f"{'file':<32} {'killed':>7} {'survived':>9} {'other':>6} {'not run':>8} {'killed %':>9}")
    totals: Counter = Counter()
    for meta in metas:
        codes = json.loads(meta.read_text())["exit_code_by_key"].values()
        statuses = Counter(status_by_exit_code[code] for code in codes)
        caught = sum(statuses[s] for s in CAUGHT)
        not_run = sum(statuses[s] for s in NOT_RUN)
        survived = statuses["survived"]
        other = sum(statuses.values()) - caught - not_run - survived  # no tests, suspicious, segfault
        tested = caught + survived + other
        share = f"{100 * caught / tested:.1f}" if tested else "-"
        name = str(meta.relative_to(root)).removesuffix(".meta")
        print(f"{name:<32} {caught:>7} {survived:>9} {other:>6} {not_run:>8} {share:>9}")
        totals.update(caught=caught, survived=survived, other=other, not_run=not_run)
    tested = totals["caught"] + totals["survived"] + totals["other"]
    share = f"{100 * totals['caught'] / tested:.1f}" if tested else "-"
    print(
        f"{'all':<32} {totals['caught']:>7} {totals['survived']:>9} {totals['other']:>6} "
        f"{totals['not_run']:>8} {share:>9}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(*(Path(a) for a in sys.argv[1:])))
