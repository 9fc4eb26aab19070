"""What every Governance console page shares: the router, the admin check, the layout and small formatters.

Admin-only like the API (:mod:`mmgov_airflow.api.auth`); a visitor who is not signed in or not an
admin gets a refusal page. A POST from another origin is refused.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from mmgov.settings import Settings
from mmgov_airflow.api.auth import Admin, NotAdmin, NotAuthenticated, authenticated_user, is_admin

HERE = Path(__file__).parent
NAV = [
    ("policies", "Retention policies"),
    ("holds", "Legal holds"),
    ("effective", "Effective policy"),
    ("runs", "Purge runs"),
    ("exports", "Compliance exports"),
    ("gdpr", "GDPR exports"),
    ("audit", "Audit trail"),
]
_env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]))
router = APIRouter(prefix="/console", include_in_schema=False)


class Refused(Exception):
    """Render the refusal page (not signed in, not an admin, or a cross-origin form post)."""

    def __init__(self, status: int, headline: str, detail: str, *, login: bool = False):
        super().__init__(headline)
        self.status, self.headline, self.detail, self.login = status, headline, detail, login


def render(request: Request, template: str, status: int = 200, **values: Any) -> HTMLResponse:
    root = request.scope.get("root_path", "").rstrip("/")
    html = _env.get_template(template).render(root=root, **{"nav": NAV, **values})
    return HTMLResponse(html, status_code=status)


def refusal(request: Request, exc: Refused) -> HTMLResponse:
    login = f"/auth/login?next={quote(str(request.url))}" if exc.login else None
    return render(
        request,
        "refused.html",
        exc.status,
        title="Governance",
        here="",
        nav=[] if exc.status in (401, 403) else NAV,  # no links for who may not follow them
        headline=exc.headline,
        detail=exc.detail,
        login=login,
    )


async def console_admin(request: Request) -> Admin:
    """The signed-in Airflow admin (Airflow's session cookie), or a refusal page."""
    from airflow.api_fastapi.app import get_auth_manager

    try:
        user = await authenticated_user(request, None)
    except NotAuthenticated as exc:
        raise Refused(401, "Sign in to Airflow first.", str(exc), login=True) from exc
    if not is_admin(user, get_auth_manager()):
        raise Refused(
            403,
            "The Governance console is for Airflow admins only.",
            str(
                NotAdmin(f"Airflow user {user.get_name()!r} is not an admin; ask an Airflow admin for access")
            ),
        )
    if request.method == "POST":
        _same_origin(request)
    return Admin(name=user.get_name(), user=user)


def _same_origin(request: Request) -> None:
    """Refuse a form posted from another site (the session cookie would otherwise act for it)."""
    origin = request.headers.get("origin") or request.headers.get("referer") or ""
    if urlsplit(origin).netloc != request.headers.get("host", ""):
        raise Refused(
            403, "Form refused.", f"the form was posted from {origin or 'an unknown page'}, not this site"
        )


ConsoleAdmin = Annotated[Admin, Depends(console_admin)]


async def form_data(request: Request) -> dict[str, str]:
    """The posted form's fields (``application/x-www-form-urlencoded``), one value each."""
    raw = (await request.body()).decode("utf-8", "replace")
    return {k: v[-1].strip() for k, v in parse_qs(raw, keep_blank_values=True).items()}


FormDep = Annotated[dict[str, str], Depends(form_data)]


def timezone_of(settings: Settings) -> str:
    return settings.Mmgov.Timezone


def at_time(value: dt.datetime | None, tz: str) -> str:
    return "-" if value is None else value.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M %Z")


def date_ms(value: str, tz: str) -> int | None:
    if not value:
        return None
    day = dt.date.fromisoformat(value)
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(tz)).timestamp() * 1000)


def refs(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def redirect_with_message(request: Request, page: str, message: str) -> RedirectResponse:
    """Back to a list page after a change (POST -> 303 -> GET), the outcome shown at its top."""
    return RedirectResponse(f"{request.url_for(page)}?{urlencode({'message': message})}", status_code=303)


@router.get("/static/console.css")
def stylesheet() -> FileResponse:
    return FileResponse(HERE / "static" / "console.css", media_type="text/css")


@router.get("/")
def home(request: Request, admin: ConsoleAdmin) -> Response:
    return RedirectResponse(request.url_for("policies_page"), status_code=303)
