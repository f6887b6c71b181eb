"""Uploaded files under MEDIA_ROOT, for the embedded default (nginx serves /media/ in production).

Their names carry a hash of their content, so a file at a given URL never changes: browsers may
keep it for a year without asking again.
"""

from flask import current_app, send_from_directory

from app.main import bp

IMMUTABLE = "public, max-age=31536000, immutable"


@bp.route("/media/<path:filename>")
def media(filename: str):
    # send_from_directory refuses paths that leave MEDIA_ROOT (404).
    response = send_from_directory(current_app.config["MEDIA_ROOT"], filename, max_age=31536000)
    response.headers["Cache-Control"] = IMMUTABLE
    return response
