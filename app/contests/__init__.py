"""Contests and the reading log: contest pages, the live leaderboard, readers' logs and goals."""

from flask import Blueprint

bp = Blueprint("contests", __name__)

from app.contests import reading_views, views  # noqa: E402,F401
