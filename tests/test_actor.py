"""mmgov.actor: who acts on the command line (an Airflow user behind a token, or a script) and whether
they may. The CLI end to end against a real api-server is tests/retention/test_cli_actor.py; here the rules
of the module itself, with a loopback HTTP server standing in for the api-server's ``/me`` route.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mmgov.actor import (
    API_URL_ENV,
    TOKEN_ENV,
    WHOAMI_PATH,
    Actor,
    ActorNotAllowed,
    ActorRequired,
    api_url,
    require,
    resolve,
    whoami,
)
from mmgov.settings import Settings

TOKENS = {"admin-token": {"name": "alice", "admin": True}, "user-token": {"name": "bob", "admin": False}}


class _Me(BaseHTTPRequestHandler):
    """``GET /mmgov/api/v4/me``: the user behind the bearer token, 401 for an unknown one."""

    def do_GET(self) -> None:
        token = self.headers.get("Authorization", "").removeprefix("Bearer ")
        if self.path != WHOAMI_PATH or token not in TOKENS:
            self.send_response(401)
            self.end_headers()
            return
        body = json.dumps(TOKENS[token]).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def me_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Me)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()


def test_api_url_prefers_the_option_then_the_environment(monkeypatch):
    monkeypatch.setenv(API_URL_ENV, "http://env.example:8080/")
    assert api_url("http://given.example/") == "http://given.example"
    assert api_url(None) == "http://env.example:8080"


def test_whoami_names_the_user_behind_the_token(me_url):
    assert whoami("admin-token", me_url.rstrip("/")) == Actor(name="alice", person=True, admin=True)
    assert whoami("user-token", me_url.rstrip("/")) == Actor(name="bob", person=True, admin=False)


def test_whoami_refuses_a_refused_token_an_unreachable_server_and_a_non_http_url(me_url):
    with pytest.raises(ActorRequired, match=r"refused the token \(HTTP 401\)"):
        whoami("stolen", me_url.rstrip("/"))
    with pytest.raises(ActorRequired, match="cannot ask the Airflow api-server"):
        whoami("admin-token", "http://127.0.0.1:1", timeout=2)
    with pytest.raises(ActorRequired, match="must be an http"):
        whoami("admin-token", "file:///etc/passwd")


def test_resolve_token_from_the_environment_script_or_nobody(me_url, monkeypatch):
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    assert resolve(None, None, me_url) is None
    assert resolve(None, "nightly", me_url) == Actor(name="script:nightly", person=False)
    monkeypatch.setenv(TOKEN_ENV, "user-token")
    assert resolve(None, None, me_url) == Actor(name="bob", person=True, admin=False)
    with pytest.raises(ActorRequired, match="not both"):
        resolve(None, "nightly", me_url)


def test_changes_need_an_actor_and_a_person_needs_to_be_admin():
    with pytest.raises(ActorRequired, match="creating a policy is audited"):
        require(None, what="creating a policy")
    with pytest.raises(ActorNotAllowed, match="'bob' is not an admin"):
        require(Actor("bob", person=True), what="creating a policy")
    assert require(Actor("alice", person=True, admin=True), what="creating a policy") == "alice"
    assert require(Actor("script:nightly", person=False), what="creating a policy") == "script:nightly"


def test_restores_are_for_admins_and_gdpr_export_admins_never_scripts():
    settings = Settings.parse(json.dumps({"Mmgov": {"GdprExportAdmins": ["dpo"]}}))
    assert require(Actor("dpo", person=True), what="restore", restore_settings=settings) == "dpo"
    assert (
        require(Actor("alice", person=True, admin=True), what="restore", restore_settings=settings) == "alice"
    )
    with pytest.raises(ActorNotAllowed, match=r"'bob' may not restore.*\(dpo\)"):
        require(Actor("bob", person=True), what="restore", restore_settings=settings)
    with pytest.raises(ActorNotAllowed, match="may not restore"):
        require(Actor("script:dpo", person=False), what="restore", restore_settings=settings)
