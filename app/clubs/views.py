"""Club pages: the directory, a club's page and form, joining and leaving, the members' tools.

Every view of a club asks ``require(slug, action)`` first: permissions.py is the one place that
decides who may do what. The views parse input, call one service, and render or redirect.
"""

from __future__ import annotations

from types import SimpleNamespace

from flask import abort, current_app, flash, make_response, render_template, request, url_for
from flask_login import current_user, login_required
from markupsafe import Markup

from app.clubs import bp, queries, services
from app.clubs.club_changes import ALL_CLUBS_VERSION, club_id_in, club_version_key
from app.clubs.forms import ClubForm, DirectoryForm
from app.clubs.mine import my_clubs
from app.clubs.permissions import Standing, require
from app.clubs.services import ClubError, ClubNameTaken
from app.donations.services import donations_to_club
from app.donations.shelf import shelf_of, wishlist_of
from app.extensions import cache, db
from app.htmx import add_toast, is_partial, redirect_after_post, render_page_or_fragment
from app.models import Membership, MemberStatus, User
from app.page_cache import cached_for_visitors, not_this_page

ANSWER_MAX = 1000


def render_form(page: str, fragment: str, form, **context):
    """The form page (or its fragment for htmx); 422 when a submitted form has errors."""
    status = 422 if (form.errors or context.get("error")) else 200
    return render_page_or_fragment(page, fragment, status=status, form=form, **context)


# ---- The directory --------------------------------------------------------------------------


@bp.route("/clubs")
def directory():
    form = DirectoryForm(request.args)
    valid = form.validate() if request.args else True
    found = queries.directory(form.to_params())
    form.set_places(found.cities, found.countries)
    status = 200 if valid and not found.origin_error else 422
    return render_page_or_fragment("clubs/directory.html", "clubs/_results.html", status=status, form=form, found=found)


@bp.route("/clubs/mine")
@login_required
def mine():
    return render_template("clubs/mine.html", clubs=my_clubs(current_user))


# ---- A club: its page, its form, closing it -------------------------------------------------


@bp.route("/clubs/new", methods=["GET", "POST"])
@login_required
def new():
    form = ClubForm()
    error = None
    if form.validate_on_submit():
        try:
            club = services.create_club(current_user, **form.to_fields())
        except ClubNameTaken as exc:
            form.name.errors.append(str(exc))
        except ClubError as exc:
            error = str(exc)
        else:
            flash(f"{club.name} is open. Invite your readers!", "success")
            return redirect_after_post(url_for("clubs.show", slug=club.slug))
    return render_form("clubs/new.html", "clubs/_club_form.html", form, error=error, club=None)


def _club_versions() -> list[str]:
    """The club's cache versions (one small query on the way in; the page server remembers them)."""
    club_id = queries.club_id_by_slug(request.view_args["slug"])
    return [club_version_key(club_id), ALL_CLUBS_VERSION] if club_id is not None else []


def _club_vary(app, reader, version_keys) -> str | None:  # noqa: ANN001 - the app, a page_serving.Reader or None
    """What the page differs by between readers: their place in the club, admin or not (both make
    the standing), and their time zone (the dates). None: not cached for them."""
    if reader is None:
        return "visitor"
    club_id = club_id_in(version_keys)
    memberships = reader.memberships
    if club_id is None or memberships is None:
        return None
    status, role = memberships.get(club_id, ("-", "-"))
    return f"{status}:{role}|admin={reader.values['is_admin']}|tz={reader.values['time_zone']}"


@bp.route("/clubs/<slug>")
@cached_for_visitors(_club_versions, readers=True, vary=_club_vary)
def show(slug: str):
    signed_in = current_user.is_authenticated
    page = queries.club_page(slug, current_user.id if signed_in else None)
    if page is None:
        abort(404)
    club = page.club
    if club_id_in(_club_versions()) != club.id:  # a slug kept for another club: never keep this page
        queries.forget_club_slug(slug)
        not_this_page()
    # Anyone may see a club's listing ("view_listing"), so this standing needs no check here.
    standing = Standing(club, page.membership, is_admin=signed_in and current_user.is_admin, signed_in=signed_in)
    inside = {}
    if standing.can("view"):
        inside = {"members": page.members, "raised_cents": page.raised_cents, "body": _club_body(page)}
    return render_template("clubs/show.html", club=club, standing=standing, inside=inside)


def _club_body(page: queries.ClubPage) -> Markup:
    """What every reader who may see the club's inside sees alike: about, donations, shelf and
    wishlist. Cached under the page's fingerprint, which any change to them moves on (the dates
    are in the reader's time zone, so that is in the key too)."""
    zone = getattr(current_user, "time_zone", None) or "UTC"
    key = f"club:{page.club.id}:body:{page.fingerprint}:{zone}"
    html = cache.get(key)
    if html is None:
        club = page.club
        html = render_template(
            "clubs/_club_body.html",
            club=club,
            raised_cents=page.raised_cents,
            donations=donations_to_club(club, limit=5),
            shelf=shelf_of(club),
            wishlist=wishlist_of(club),
        )
        cache.set(key, html, timeout=current_app.config["CLUB_PAGE_CACHE_SECONDS"])
    return Markup(html)


@bp.route("/clubs/<slug>/edit", methods=["GET", "POST"])
def edit(slug: str):
    standing = require(slug, "manage")
    club = standing.club
    form = ClubForm(data=ClubForm.data_of(club))
    error = None
    if form.validate_on_submit():
        try:
            services.update_club(club, **form.to_fields())
        except ClubNameTaken as exc:
            form.name.errors.append(str(exc))
        except ClubError as exc:
            error = str(exc)
        else:
            flash("The club's details are saved.", "success")
            return redirect_after_post(url_for("clubs.show", slug=club.slug))
    return render_form("clubs/edit.html", "clubs/_club_form.html", form, error=error, club=club)


@bp.route("/clubs/<slug>/close", methods=["POST"])
def close(slug: str):
    standing = require(slug, "manage")
    club = standing.club
    try:
        services.close_club(club)
    except ClubError as exc:
        form = ClubForm(formdata=None, data=ClubForm.data_of(club))
        return render_page_or_fragment(
            "clubs/edit.html", "clubs/_close_form.html", status=422, form=form, club=club, close_error=str(exc)
        )
    flash(f"{club.name} is closed. Thank you for running it.", "info")
    return redirect_after_post(url_for("clubs.show", slug=club.slug))


# ---- Joining and leaving --------------------------------------------------------------------


def _membership_refused(standing: Standing, error: str, answers: dict[str, str] | None = None):
    """A refused join or leave: the box again with the reason (htmx), or a flash on the club page."""
    if is_partial():
        html = render_template(
            "clubs/_membership.html", club=standing.club, standing=standing, error=error, answers=answers or {}
        )
        return html, 422
    flash(error, "error")
    return redirect_after_post(url_for("clubs.show", slug=standing.club.slug))


@bp.route("/clubs/<slug>/join", methods=["POST"])
def join(slug: str):
    standing = require(slug, "join")
    club = standing.club
    answers = {q: request.form.get(f"answer-{i}", "")[:ANSWER_MAX] for i, q in enumerate(club.join_questions)}
    try:
        membership = services.join_club(club, current_user, answers)
    except ClubError as exc:
        return _membership_refused(standing, str(exc), answers)
    if membership.status == MemberStatus.PENDING:
        flash("Your request is sent. We will email you when the club answers.", "success")
    else:
        flash(f"Welcome to {club.name}!", "success")
    return redirect_after_post(url_for("clubs.show", slug=club.slug))


@bp.route("/clubs/<slug>/leave", methods=["POST"])
def leave(slug: str):
    standing = require(slug, "leave")
    club = standing.club
    try:
        services.leave_club(club, current_user)
    except ClubError as exc:
        return _membership_refused(standing, str(exc))
    flash(f"You left {club.name}.", "info")
    return redirect_after_post(url_for("clubs.show", slug=club.slug))


# ---- Members: the list, join requests, the owner's tools ------------------------------------


def _members_context(standing: Standing, error: str | None = None) -> dict:
    rows = queries.members_of(standing.club)
    return {
        "club": standing.club,
        "standing": standing,
        "active": [r for r in rows if r[0].status == MemberStatus.ACTIVE],
        "pending": [r for r in rows if r[0].status == MemberStatus.PENDING] if standing.can("moderate") else [],
        "banned": [r for r in rows if r[0].status == MemberStatus.BANNED] if standing.can("manage") else [],
        "error": error,
    }


@bp.route("/clubs/<slug>/members")
def members(slug: str):
    standing = require(slug, "view_members")
    return render_template("clubs/members.html", **_members_context(standing))


def _person(club_id: int, membership_id: int) -> SimpleNamespace | None:
    """Who a membership is, copied before a change may delete the membership."""
    membership = db.session.get(Membership, membership_id)
    if membership is None or membership.club_id != club_id:
        return None
    user = db.session.get(User, membership.user_id)
    return SimpleNamespace(
        id=membership.id,
        name=user.name,
        answers=dict((membership.details or {}).get("answers") or {}),
        joined_at=membership.joined_at,
    )


def _decide(slug: str, membership_id: int, approve: bool):
    standing = require(slug, "moderate")
    club = standing.club
    person = _person(club.id, membership_id)
    error = None
    try:
        services.decide_join_request(club, membership_id, approve)
    except ClubError as exc:
        error = str(exc)
    done = f"{person.name if person else 'They'} {'is now a member' if approve else 'was declined'}."
    if is_partial() and person is not None:
        decided = None if error else ("approved" if approve else "declined")
        counts = {} if error else queries.member_counts(club.id)
        html = render_template(
            "clubs/_request_decided.html",
            club=club,
            person=person,
            decided=decided,
            error=error,
            active_count=counts.get(MemberStatus.ACTIVE, 0),
            pending_count=counts.get(MemberStatus.PENDING, 0),
        )
        response = make_response(html, 422 if error else 200)
        return add_toast(response, done) if not error else response
    flash(error or done, "error" if error else "success")
    return redirect_after_post(url_for("clubs.members", slug=club.slug))


@bp.route("/clubs/<slug>/members/<int:membership_id>/approve", methods=["POST"])
def approve(slug: str, membership_id: int):
    return _decide(slug, membership_id, approve=True)


@bp.route("/clubs/<slug>/members/<int:membership_id>/decline", methods=["POST"])
def decline(slug: str, membership_id: int):
    return _decide(slug, membership_id, approve=False)


def _owner_action(slug: str, membership_id: int, change, done: str, reload_page: bool = False):
    """One of the owner's changes to a member: the members panel again (htmx) or a redirect.

    ``change(club)`` calls the service; ``done`` is the message, with ``{name}`` for the person.
    """
    standing = require(slug, "manage")
    club = standing.club
    person = _person(club.id, membership_id)
    error = None
    try:
        change(club)
    except ClubError as exc:
        error = str(exc)
    done = done.format(name=person.name if person else "They")
    members_url = url_for("clubs.members", slug=club.slug)
    if is_partial() and not (reload_page and not error):
        html = render_template("clubs/_members.html", **_members_context(standing, error=error))
        response = make_response(html, 422 if error else 200)
        return add_toast(response, done) if not error else response
    flash(error or done, "error" if error else "success")
    return redirect_after_post(members_url)


@bp.route("/clubs/<slug>/members/<int:membership_id>/role", methods=["POST"])
def set_role(slug: str, membership_id: int):
    role = request.form.get("role", "")
    return _owner_action(
        slug,
        membership_id,
        lambda club: services.set_role(club, membership_id, role),
        "{name} is now a moderator." if role == "moderator" else "{name} is now a member.",
    )


@bp.route("/clubs/<slug>/members/<int:membership_id>/remove", methods=["POST"])
def remove(slug: str, membership_id: int):
    return _owner_action(
        slug, membership_id, lambda club: services.remove_member(club, membership_id), "{name} is removed."
    )


@bp.route("/clubs/<slug>/members/<int:membership_id>/ban", methods=["POST"])
def ban(slug: str, membership_id: int):
    return _owner_action(
        slug,
        membership_id,
        lambda club: services.remove_member(club, membership_id, ban=True),
        "{name} is banned and cannot ask to join again.",
    )


@bp.route("/clubs/<slug>/members/<int:membership_id>/unban", methods=["POST"])
def unban(slug: str, membership_id: int):
    return _owner_action(
        slug, membership_id, lambda club: services.unban_member(club, membership_id), "{name} may join again."
    )


@bp.route("/clubs/<slug>/members/<int:membership_id>/transfer", methods=["POST"])
def transfer(slug: str, membership_id: int):
    # The whole page changes (the old owner's tools go), so success reloads it.
    return _owner_action(
        slug,
        membership_id,
        lambda club: services.transfer_ownership(club, current_user, membership_id),
        "{name} owns the club now. You stay on as a moderator.",
        reload_page=True,
    )
