"""The audit trail of admin commands: every command that changes something records who ran it."""

import getpass
import shlex
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click

from app.extensions import db
from app.models.audit import AuditEntry

REDACTED = "[redacted]"
SECRET_OPTIONS = ("--password",)


def record_admin_action(command: str, target: str, **details: Any) -> AuditEntry:
    """Write one audit row for ``command`` on ``target``, with the command line that ran it.

    Called after the change is committed, so a command that fails leaves no row.
    """
    ctx = click.get_current_context(silent=True)
    entry = AuditEntry(
        actor=_os_user(),
        command=command,
        target=target[:200],
        details={
            "command_line": shlex.join(_redact(sys.argv)),
            "params": _redact_params(ctx.params if ctx else {}),
            **{key: _json_safe(value) for key, value in details.items()},
        },
    )
    db.session.add(entry)
    db.session.commit()
    return entry


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (some containers run as an unnamed uid)
        return "unknown"


def _redact(argv: list[str]) -> list[str]:
    out: list[str] = []
    hide_next = False
    for arg in argv:
        if hide_next:
            out.append(REDACTED)
            hide_next = False
        elif arg in SECRET_OPTIONS:
            out.append(arg)
            hide_next = True
        elif arg.startswith(tuple(f"{option}=" for option in SECRET_OPTIONS)):
            out.append(arg.split("=", 1)[0] + "=" + REDACTED)
        else:
            out.append(arg)
    return out


def _redact_params(params: dict[str, Any]) -> dict[str, Any]:
    secret_names = {option.lstrip("-").replace("-", "_") for option in SECRET_OPTIONS}
    return {
        name: (REDACTED if name in secret_names and value is not None else _json_safe(value))
        for name, value in params.items()
    }


def _json_safe(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    return str(value)
