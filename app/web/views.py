"""The console's pages and the one API call it needs beyond the domains' own: who am I.

Every console address serves the same shell; the browser draws the page from the address and
fetches its data from the API with the token the user signed in with.
"""

from __future__ import annotations

from flask import Blueprint, Response, render_template
from flask_smorest import Blueprint as ApiBlueprint

from app.auth.guard import current_token, roles
from app.auth.models import ApiToken
from app.web.schemas import MeSchema

# Nothing but the console's own files may load or be contacted: no CDN, no inline script.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

blp = Blueprint(
    "web",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/console/static",
)
me_blp = ApiBlueprint("me", __name__, url_prefix="/api/v1", description="The signed-in token")


@blp.get("/")
@blp.get("/console/")
@blp.get("/console/<path:page>")
def console(page: str = "") -> Response:
    """The console's shell; the page itself is drawn in the browser from the address."""
    response = Response(render_template("console.html"), mimetype="text/html")
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


@me_blp.get("/me")
@me_blp.response(200, MeSchema)
@roles("admin", "agent", "connector")
def me() -> ApiToken:
    """The token making the request: its name, role and, for a connector, its source."""
    return current_token()
