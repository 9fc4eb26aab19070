"""The API's documentation served offline: Swagger UI's files come from an installed package, not a CDN.

The files are those of Flask-AppBuilder (``flask_appbuilder/static/appbuilder``), a pinned
dependency of Airflow's FAB provider in ``requirements.txt``; nothing is fetched from the internet.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

from mmgov.errors import MmgovError

ASSETS = {
    "swagger-ui-bundle.js": ("js/swagger-ui-bundle.js", "application/javascript"),
    "swagger-ui.css": ("css/swagger/swagger-ui.css", "text/css"),
}
router = APIRouter(include_in_schema=False)


def asset_path(name: str) -> Path:
    """The installed file of a Swagger UI asset (404 for anything else)."""
    if name not in ASSETS:
        raise MmgovError(
            f"no such documentation asset {name!r}; allowed: {', '.join(ASSETS)}",
            code="MMGOV_NOT_FOUND",
            status=404,
        )
    path = Path(str(resources.files("flask_appbuilder"))) / "static" / "appbuilder" / ASSETS[name][0]
    if not path.is_file():
        raise MmgovError(
            f"Swagger UI file {path} is missing: install the pinned requirements (flask-appbuilder)",
            code="MMGOV_DOCS_UNAVAILABLE",
            status=503,
        )
    return path


@router.get("/docs")
def docs(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "").rstrip("/")
    return get_swagger_ui_html(
        openapi_url=f"{root}/openapi.json",
        title="mmgov API",
        swagger_js_url=f"{root}/docs/static/swagger-ui-bundle.js",
        swagger_css_url=f"{root}/docs/static/swagger-ui.css",
        swagger_favicon_url=f"{root}/docs/static/swagger-ui.css",
    )


@router.get("/docs/static/{name}")
def asset(name: str) -> FileResponse:
    return FileResponse(asset_path(name), media_type=ASSETS[name][1])
