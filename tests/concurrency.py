"""Real threads released at the same moment, for the concurrency tests (fund debits, refunds racing
purchases, resent payment forms)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

# A task gets ``start``: it prepares what it needs, calls ``start()`` and then races the others.
Task = Callable[[Callable[[], None]], Any]


def all_at_once(app, tasks: list[Task], *, timeout: float = 120) -> tuple[list, list[str]]:
    """Run each task in its own thread and app context, all released together once every one is ready.

    Returns what the tasks returned (in finishing order) and the errors they raised (as ``repr``).
    """
    barrier = threading.Barrier(len(tasks))
    results, errors = [], []

    def run(task: Task) -> None:
        try:
            with app.app_context():
                results.append(task(lambda: barrier.wait(timeout=30)))
        except Exception as exc:  # surfaced by the caller's assertions
            errors.append(repr(exc))

    threads = [threading.Thread(target=run, args=(task,)) for task in tasks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    return results, errors
