"""Contest pages: the list, a contest with its live leaderboard, creating, entering and flags."""

import time
from datetime import UTC, datetime

from flask import abort, current_app, flash, render_template, request, url_for
from flask_login import current_user, login_required

from app.contests import bp, queries, services
from app.contests.contest_changes import ALL_CONTESTS_VERSION, contest_version_key
from app.contests.forms import ContestForm, EnterForm, FlagForm, ReviewForm
from app.contests.leaderboard import live_leaderboard, score_label
from app.contests.permissions import can_create, can_flag, can_manage, can_see, is_admin, owned_clubs
from app.contests.scoring import TIE_BREAK_RULE, Standing, formula
from app.extensions import db
from app.forms import ConfirmForm
from app.htmx import is_partial, redirect_after_post, render_page_or_fragment
from app.ids import parse_id
from app.models import Club, Contest, ContestFlag, ContestStatus
from app.page_cache import cached_for_visitors


@bp.app_template_filter("contest_score")
def contest_score(standing, contest: Contest) -> str:
    """A standing's score as the contest counts it (books, pages, dollars); standings may be stored dicts."""
    return score_label(contest, standing if isinstance(standing, Standing) else Standing(**standing))


def _contest_or_404(contest_id: int) -> Contest:
    contest = db.session.get(Contest, contest_id)
    if contest is None or not can_see(contest, current_user):
        abort(404)
    return contest


def _page(contest: Contest, **extra) -> dict:
    """Everything the contest page shows, in a fixed number of queries."""
    clubs = owned_clubs(current_user) if contest.is_club_contest else []
    joined, entered = queries.entries_by(contest, current_user, [club.id for club in clubs])
    rows = live_leaderboard(contest)
    admin = is_admin(current_user)
    flagging = contest.status == ContestStatus.SCORING and can_flag(contest, current_user)
    context = {
        "contest": contest,
        "formula": formula(contest),
        "tie_break": TIE_BREAK_RULE,
        "rows": rows,
        "entrants": len(rows),
        "winner": (contest.standings or {}).get("winner") if contest.status == ContestStatus.FINISHED else None,
        "entries_open": contest.status in (ContestStatus.DRAFT, ContestStatus.OPEN)
        and contest.ends_at > datetime.now(UTC),
        "joined": joined,
        "clubs_to_enter": [club for club in clubs if club.id not in entered],
        "entered_clubs": [club for club in clubs if club.id in entered],
        "can_manage": can_manage(contest, current_user),
        "can_flag": flagging,
        "flags": queries.open_flags(contest) if admin else [],
    }
    if flagging:  # the only form the page renders with fields; the others are a CSRF token and buttons
        context["flag_form"] = FlagForm()
    context.update(extra)
    return context


@bp.route("/contests")
def index():
    services.score_ended_contests()  # the embedded default has no scheduler
    listing = queries.contest_listing(include_drafts=is_admin(current_user))
    return render_template("contests/index.html", listing=listing, can_create=can_create(current_user))


def _contest_versions() -> list[str]:
    return [contest_version_key(request.view_args["contest_id"]), ALL_CONTESTS_VERSION]


def _contest_vary(app, reader, version_keys) -> str | None:  # noqa: ANN001 - the app, a page_serving.Reader or None
    """A contest page differs by reader (their entry, the clubs they own, admin or not) and shows
    live standings cached for ``LEADERBOARD_CACHE_SECONDS``: a reader's page is kept for that
    window at most, and only changes of them or of the contest replace it sooner. Not cached
    without Redis: the embedded default scores ended contests when their page is shown."""
    seconds = app.config["LEADERBOARD_CACHE_SECONDS"]
    if not app.config.get("REDIS_URL") or seconds <= 0:
        return None
    window = int(time.time() // seconds)
    if reader is None:
        return f"visitor|t={window}"
    return f"reader={reader.values['id']}:{reader.generations}|t={window}"


@bp.route("/contests/<int:contest_id>")
@cached_for_visitors(_contest_versions, readers=True, vary=_contest_vary)
def show(contest_id: int):
    contest = _contest_or_404(contest_id)
    services.score_ended_contests(contest)
    return render_template("contests/show.html", **_page(contest))


@bp.route("/contests/<int:contest_id>/leaderboard")
def leaderboard(contest_id: int):
    contest = _contest_or_404(contest_id)
    services.score_ended_contests(contest)
    if is_partial():
        return render_template("contests/_leaderboard.html", contest=contest, rows=live_leaderboard(contest))
    return render_template("contests/show.html", **_page(contest))


@bp.route("/contests/new", methods=["GET", "POST"])
@login_required
def new():
    clubs = owned_clubs(current_user)
    if not can_create(current_user, clubs):
        abort(403)
    form = ContestForm(provisional_hours=current_app.config["CONTEST_PROVISIONAL_HOURS"])
    form.limit_to(current_user.is_admin, clubs)
    error = None
    if form.validate_on_submit():
        host = next((club for club in clubs if str(club.id) == form.host_club.data), None)
        try:
            contest = services.create_contest(
                title=form.title.data,
                description=form.description.data or "",
                kind=form.kind.data,
                metric=form.metric.data,
                scoring=form.scoring.data,
                starts_at=form.starts_at.data,
                ends_at=form.ends_at.data,
                prize=form.prize.data or "",
                created_by=current_user,
                host_club=host,
                member_floor=form.member_floor.data,
                provisional_hours=form.provisional_hours.data,
            )
        except services.ContestError as exc:
            error = str(exc)
        else:
            flash("Draft saved. Open it for entries when it is ready.", "success")
            return redirect_after_post(url_for("contests.show", contest_id=contest.id))
    status = 422 if (form.errors or error) else 200
    return render_page_or_fragment("contests/new.html", "contests/_contest_form.html", status, form=form, error=error)


def _manage(contest_id: int, action, done: str):
    contest = _contest_or_404(contest_id)
    if not can_manage(contest, current_user):
        abort(403)
    if ConfirmForm().validate_on_submit():
        try:
            action(contest)
        except services.ContestError as exc:
            flash(str(exc), "error")
        else:
            flash(done, "success")
    return redirect_after_post(url_for("contests.show", contest_id=contest.id))


@bp.route("/contests/<int:contest_id>/open", methods=["POST"], endpoint="open")
@login_required
def open_for_entries(contest_id: int):
    return _manage(contest_id, services.open_contest, "The contest is open for entries.")


@bp.route("/contests/<int:contest_id>/cancel", methods=["POST"])
@login_required
def cancel(contest_id: int):
    return _manage(contest_id, services.cancel_contest, "The contest is cancelled.")


@bp.route("/contests/<int:contest_id>/enter", methods=["POST"])
@login_required
def enter(contest_id: int):
    contest = _contest_or_404(contest_id)
    form = EnterForm()
    error = "Your form expired. Please try again."
    if form.validate_on_submit():
        club = None
        club_id = parse_id(form.club_id.data)
        if contest.is_club_contest and club_id:
            club = db.session.get(Club, club_id)
        try:
            services.enter_contest(contest, current_user, club)
        except services.ContestError as exc:
            error = str(exc)
        else:
            flash(f"{club.name} is in the contest." if club else "You are in the contest. Happy reading!", "success")
            return redirect_after_post(url_for("contests.show", contest_id=contest.id))
    return render_template("contests/show.html", **_page(contest, enter_error=error)), 422


@bp.route("/contests/<int:contest_id>/flags", methods=["POST"])
@login_required
def flag(contest_id: int):
    contest = _contest_or_404(contest_id)
    if not can_flag(contest, current_user):
        abort(403)
    form = FlagForm()
    error = None
    if form.validate_on_submit():
        try:
            services.flag_entry(contest, form.reading_log_id.data, current_user, form.reason.data)
        except services.ContestError as exc:
            error = str(exc)
        else:
            flash("Thank you. An admin reviews the entry before the results are final.", "success")
            return redirect_after_post(url_for("contests.show", contest_id=contest.id))
    return render_template("contests/show.html", **_page(contest, flag_form=form, flag_error=error)), 422


@bp.route("/contests/flags/<int:flag_id>/review", methods=["POST"])
@login_required
def review(flag_id: int):
    if not current_user.is_admin:
        abort(403)
    found = db.session.get(ContestFlag, flag_id)
    if found is None:
        abort(404)
    contest_id = found.contest_id
    form = ReviewForm()
    if form.validate_on_submit():
        try:
            services.review_flag(flag_id, current_user, uphold=form.decision.data == "uphold")
        except services.ContestError as exc:
            flash(str(exc), "error")
        else:
            flash("Flag upheld: the entry will not count." if form.decision.data == "uphold" else "Flag dismissed.")
    return redirect_after_post(url_for("contests.show", contest_id=contest_id))
