"""The reader's reading log and yearly goal: /account/reading."""

from flask import abort, flash, url_for
from flask_login import current_user, login_required

from app.contests import bp, reading
from app.contests.forms import GoalForm, ReadingForm
from app.formatting import local_today
from app.forms import ConfirmForm
from app.htmx import redirect_after_post, render_page_or_fragment


def _render(
    form: ReadingForm, goal_form: GoalForm | None = None, status: int = 200, fragment: str | None = None, **context
):
    """The reading page, or the add form alone for an htmx request from it."""
    year = local_today(current_user).year
    progress = reading.year_progress(current_user, year)
    goal_form = goal_form or GoalForm(books=progress.goal)
    return render_page_or_fragment(
        "contests/reading.html",
        fragment or "contests/_reading_form.html",
        status,
        form=form,
        goal_form=goal_form,
        progress=progress,
        entries=reading.reading_log(current_user),
        **context,
    )


@bp.route("/account/reading", methods=["GET", "POST"], endpoint="reading")
@login_required
def reading_log():
    form = ReadingForm()
    if not form.is_submitted():
        form.finished_on.data = local_today(current_user)
    error = needs_confirmation = None
    if form.validate_on_submit():
        try:
            entry = reading.log_book(
                current_user,
                title=form.title.data,
                author=form.author.data or "",
                pages=form.pages.data,
                finished_on=form.finished_on.data,
                confirmed=bool(form.confirm.data),
            )
        except reading.NeedsConfirmation as exc:
            needs_confirmation = str(exc)
        except reading.ReadingError as exc:
            error = str(exc)
        else:
            flash(f"“{entry.title}” is in your reading log.", "success")
            return redirect_after_post(url_for("contests.reading"))
    status = 422 if (form.errors or error or needs_confirmation) else 200
    return _render(form, status=status, error=error, needs_confirmation=needs_confirmation)


@bp.route("/account/reading/<int:entry_id>/delete", methods=["POST"])
@login_required
def delete_reading(entry_id: int):
    if ConfirmForm().validate_on_submit():
        try:
            reading.delete_entry(current_user, entry_id)
        except reading.ReadingError:
            abort(404)
        flash("The entry is removed from your log.", "success")
    return redirect_after_post(url_for("contests.reading"))


@bp.route("/account/reading/goal", methods=["POST"])
@login_required
def reading_goal():
    goal_form = GoalForm()
    error = None
    if goal_form.validate_on_submit():
        year = local_today(current_user).year
        try:
            reading.set_goal(current_user, year, goal_form.books.data)
        except reading.ReadingError as exc:
            error = str(exc)
        else:
            flash(f"Your goal for {year}: {goal_form.books.data} books.", "success")
            return redirect_after_post(url_for("contests.reading"))
    form = ReadingForm(formdata=None, finished_on=local_today(current_user))
    return _render(form, goal_form, status=422, fragment="contests/reading.html", goal_error=error)
