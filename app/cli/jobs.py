"""``flask jobs``: run a worker, list and requeue failed jobs."""

import click
from flask import current_app

from app import jobs as job_queue
from app.cli import CommandGroup
from app.cli.audit import record_admin_action
from app.models import EmailMessage
from app.notifications.outbox import troubled_emails

jobs = CommandGroup("jobs", help="Background jobs on RQ (needs REDIS_URL) and the emails that failed.")


def _require_redis() -> None:
    if not current_app.config.get("REDIS_URL"):
        raise click.ClickException("REDIS_URL is not set: jobs run inline, so there is no queue to look at")


@jobs.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@click.option("--queue", "queues", multiple=True, help="Queue to listen on (default: all).")
@click.option("--simple", is_flag=True, help="Run each job in the worker process (no fork per job).")
def worker(burst: bool, queues: tuple[str, ...], simple: bool) -> None:
    """Run an RQ worker with the scheduler inside this app."""
    _require_redis()
    names = list(queues) or current_app.config["RQ_QUEUES"]
    click.echo(f"Worker listening on {', '.join(names)} (scheduler on{', no fork' if simple else ''}).")
    job_queue.run_worker(current_app._get_current_object(), names, burst=burst, simple=simple)


@jobs.command("failed")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(min=1), help="Emails shown at most.")
def failed(limit: int) -> None:
    """List jobs that failed after their retries (with Redis), and the emails that failed or are stuck.

    Without REDIS_URL jobs run inline, so there is no queue; the emails are listed either way
    (`flask mail retry` sends them again).
    """
    if current_app.config.get("REDIS_URL"):
        rows = job_queue.failed_jobs(current_app.config["RQ_QUEUES"])
        for job in rows:
            result = job.latest_result()
            lines = (result.exc_string or "").strip().splitlines() if result else []
            reason = lines[-1] if lines else "?"
            click.echo(f"{job.id}  {job.origin:<8} {job.func_name}  {reason[:100]}")
        click.echo(f"{len(rows)} failed job(s).")
    else:
        click.echo("REDIS_URL is not set: jobs run inline, so there is no queue of failed jobs.")
    emails = troubled_emails(limit=limit)
    for email in emails:
        state = "stuck" if email.status != EmailMessage.STATUS_FAILED else "failed"
        line = (
            f"email #{email.id:<6} {email.updated_at:%Y-%m-%d %H:%M}  {state:<6} ({email.status}, "
            f"{email.attempts} attempt(s))  {email.template:<20} {email.recipient}"
        )
        error_lines = (email.last_error or "").strip().splitlines()
        if error_lines:
            line += f"  {error_lines[-1][:80]}"
        click.echo(line)
    click.echo(
        f"{len(emails)} failed or stuck email(s)."
        + (" Send them again with `flask mail retry` (`--id N` for one whose attempts ran out)." if emails else "")
    )


@jobs.command("requeue")
@click.argument("job_id", required=False)
@click.option("--all", "all_jobs", is_flag=True, help="Requeue every failed job.")
def requeue(job_id: str | None, all_jobs: bool) -> None:
    """Put a failed job (JOB_ID) or all of them (--all) back on its queue."""
    if bool(job_id) == all_jobs:
        raise click.ClickException("give a JOB_ID or --all (not both)")
    _require_redis()
    done = job_queue.requeue_failed(current_app.config["RQ_QUEUES"], None if all_jobs else job_id)
    if job_id and not done:
        raise click.ClickException(f"no failed job with id {job_id}")
    for requeued_id in done:
        record_admin_action("jobs requeue", f"job:{requeued_id}")
    click.echo(f"Requeued {len(done)} job(s).")
