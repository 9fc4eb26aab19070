"""Who is acting, for the audit trail of mmgov's command lines: the Airflow user behind a token, or a script.

The audit trail names people by their **Airflow user name**, whether they act in the UI, through the
REST API or on the command line. On the command line:

* ``--token TOKEN`` (or ``AIRFLOW_API_TOKEN``): an Airflow API token (``POST /auth/token``). The
  api-server at ``--api-url`` (or ``AIRFLOW_API_URL``, else ``[api] base_url``, else
  ``http://localhost:8080``) says whose it is (``GET /mmgov/api/v4/me``); a refused token or an
  unreachable server refuses the command.
* ``--actor NAME``: for scripts only, recorded as ``script:NAME`` (never mistaken for a person).

A command that changes something needs one of the two; reading needs neither. Who may do what is
:mod:`mmgov.authz`: with a token, changes need an Airflow admin, a restore an admin or a user in
``Mmgov.GdprExportAdmins``; a script may change policies and legal holds but not restore.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass

from mmgov.errors import MmgovError
from mmgov.settings import Settings

SCRIPT_PREFIX = "script:"
TOKEN_ENV = "AIRFLOW_API_TOKEN"  # noqa: S105 - the variable's name, not a token
API_URL_ENV = "AIRFLOW_API_URL"
DEFAULT_API_URL = "http://localhost:8080"
WHOAMI_PATH = "/mmgov/api/v4/me"


class ActorRequired(MmgovError):
    """No (valid) identity for a command that is audited."""

    code = "MMGOV_ACTOR_REQUIRED"
    status = 401


class ActorNotAllowed(MmgovError):
    """The Airflow user (or script) may not do this (:mod:`mmgov.authz`)."""

    code = "MMGOV_ACTOR_NOT_ALLOWED"
    status = 403


@dataclass(frozen=True)
class Actor:
    """``name`` is what the audit trail records; ``person`` is False for a script."""

    name: str
    person: bool
    admin: bool = False


def api_url(given: str | None) -> str:
    """``--api-url``, else ``AIRFLOW_API_URL``, else Airflow's ``[api] base_url``, else localhost:8080."""
    if given or os.environ.get(API_URL_ENV):
        return (given or os.environ[API_URL_ENV]).rstrip("/")
    try:
        from airflow.configuration import conf

        return (conf.get("api", "base_url", fallback=None) or DEFAULT_API_URL).rstrip("/")
    except Exception:  # noqa: BLE001 - no Airflow configuration on this machine
        return DEFAULT_API_URL


def whoami(token: str, url: str, *, timeout: float = 15) -> Actor:
    """The Airflow user behind ``token``, as the api-server at ``url`` sees it."""
    if not url.startswith(("http://", "https://")):
        raise ActorRequired(f"--api-url must be an http(s) URL, got {url!r}")
    req = urllib.request.Request(url + WHOAMI_PATH, headers={"Authorization": f"Bearer {token}"})  # noqa: S310
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - scheme checked above
            body = json.loads(resp.read())
    except urllib.error.HTTPError as err:
        raise ActorRequired(
            f"the Airflow api-server at {url} refused the token (HTTP {err.code}): get a new one with "
            f"POST {url}/auth/token and pass it with --token or {TOKEN_ENV}"
        ) from err
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise ActorRequired(
            f"cannot ask the Airflow api-server at {url} whose token this is ({exc}); set --api-url or "
            f"{API_URL_ENV}, or use --actor NAME for a script"
        ) from exc
    return Actor(name=str(body["name"]), person=True, admin=bool(body.get("admin")))


def resolve(token: str | None, script: str | None, url: str | None) -> Actor | None:
    """The acting identity from ``--token``/``AIRFLOW_API_TOKEN`` or ``--actor``; None if neither was given."""
    token = token or os.environ.get(TOKEN_ENV)
    if token and script:
        raise ActorRequired("give either --token (an Airflow user) or --actor (a script), not both")
    if token:
        return whoami(token, api_url(url))
    if script:
        return Actor(name=SCRIPT_PREFIX + script, person=False)
    return None


def require(actor: Actor | None, *, what: str, restore_settings: Settings | None = None) -> str:
    """The audited name of ``actor`` for the change ``what``, or the refusal (see the module docstring).

    ``restore_settings``: the change is a restore, allowed by these settings' ``GdprExportAdmins``.
    """
    if actor is None:
        raise ActorRequired(
            f"{what} is audited: say who is acting with --token (or {TOKEN_ENV}: an Airflow API token) "
            "or, for a script, --actor NAME"
        )
    if restore_settings is not None:
        from mmgov.authz import may_export

        if not actor.person or not may_export(actor.name, restore_settings, is_admin=actor.admin):
            allowed = ", ".join(restore_settings.Mmgov.GdprExportAdmins) or "empty"
            raise ActorNotAllowed(
                f"{actor.name!r} may not restore: restores are for the Airflow admins and the users in "
                f"Mmgov.GdprExportAdmins ({allowed}), with their --token"
            )
    elif actor.person and not actor.admin:
        raise ActorNotAllowed(
            f"Airflow user {actor.name!r} is not an admin; {what} requires an Airflow admin"
        )
    return actor.name
