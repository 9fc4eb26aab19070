"""The mmgov FastAPI app: one router per area, typed errors as JSON ``{id, message, status_code}``.

Mounted by :mod:`mmgov_plugin` under ``/mmgov`` on Airflow's api-server; every route requires an
Airflow admin (:mod:`mmgov_airflow.api.auth`) except ``GET /api/v4/me`` (any logged-in user: who am I)
and restore (also ``Mmgov.GdprExportAdmins``). Areas add their router in :func:`create_app`. The
Governance console's pages (``/mmgov/console``, :mod:`mmgov_airflow.console.pages`) and the API docs
(``/mmgov/docs``, served without a CDN: :mod:`mmgov_airflow.api.docs`) are part of the same app.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from mmgov.errors import MmgovError

log = logging.getLogger(__name__)
URL_PREFIX = "/mmgov"


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"id": code, "message": message, "status_code": status})


def create_app() -> FastAPI:
    """A fresh app with every area's router."""
    from mmgov_airflow.api.docs import router as docs_router
    from mmgov_airflow.api.identity import router as identity_router
    from mmgov_airflow.api.retention import router as retention_router
    from mmgov_airflow.console.pages import Refused, refusal
    from mmgov_airflow.console.pages import router as console_router

    app = FastAPI(
        title="mmgov API",
        description="Data governance for Mattermost: retention policies, legal holds, purge runs and restore. "
        "Requires an Airflow admin token (POST /auth/token).",
        version="1",
        docs_url=None,  # served by docs_router from installed files (no CDN)
        redoc_url=None,
    )
    app.include_router(retention_router)
    app.include_router(identity_router)
    app.include_router(docs_router)
    app.include_router(console_router)

    @app.exception_handler(Refused)
    async def refused(request: Request, exc: Refused) -> Response:
        return refusal(request, exc)

    @app.exception_handler(MmgovError)
    async def mmgov_error(request: Request, exc: MmgovError) -> Response:
        if exc.status >= 500:
            log.error("mmgov API error on %s %s: %s", request.method, request.url.path, exc)
        if "/console/" in request.url.path:  # a console page: the error as a page, not JSON
            return refusal(request, Refused(exc.status, exc.code, str(exc)))
        return JSONResponse(status_code=exc.status, content=exc.to_dict())

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        return _error(400, "MMGOV_INVALID_REQUEST", details)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, f"MMGOV_HTTP_{exc.status_code}", str(exc.detail))

    return app


app = create_app()
