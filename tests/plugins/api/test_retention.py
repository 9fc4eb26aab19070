"""mmgov's retention REST API on a real ``airflow api-server``, with real JWTs from ``POST /auth/token``."""

from __future__ import annotations

import pytest

import mmgov.retention  # noqa: F401 - registers retention.sql
from mmgov import audit
from mmgov.ids import new_id
from tests.retention.builders import deleted_posts

pytestmark = pytest.mark.airflow
BASE = "/mmgov/api/v4/data_retention"
SETTINGS = {
    "DataRetentionSettings": {
        "EnableMessageDeletion": True,
        "MessageRetentionDays": 100,
        "TimeBetweenBatchesMilliseconds": 0,
    },
    "Mmgov": {"RetentionApproval": "never", "GdprExportAdmins": ["dpo"]},
}


class TestAuth:
    def test_not_logged_in_is_401(self, api):
        status, body = api.request("GET", f"{BASE}/policies")
        assert status == 401
        assert body["id"] == "MMGOV_NOT_AUTHENTICATED"

    def test_bad_token_is_401(self, api):
        assert api.request("GET", f"{BASE}/policies", token="not-a-jwt")[0] == 401
        forged = api.token("viewer")[:-4] + "AAAA"
        assert api.request("GET", f"{BASE}/policies", token=forged)[0] == 401

    @pytest.mark.parametrize("user", ["viewer", "user", "op"])
    def test_non_admins_are_403(self, api, user):
        status, body = api.request("GET", f"{BASE}/policies", user=user)
        assert status == 403
        assert body == {
            "id": "MMGOV_ADMIN_REQUIRED",
            "status_code": 403,
            "message": f"Airflow user '{user}' is not an admin; mmgov's API requires an Airflow admin",
        }
        assert api.request("POST", f"{BASE}/policies", {"display_name": "x"}, user=user)[0] == 403

    def test_admin_is_200(self, api):
        status, body = api.request("GET", f"{BASE}/policies", user="admin")
        assert status == 200
        assert set(body) == {"policies", "total_count"}


class TestPolicies:
    def test_crud(self, api, db, ws):
        team, chan = ws.team(), ws.channel()
        status, created = api.request(
            "POST",
            f"{BASE}/policies",
            {"display_name": "Sales", "post_duration_days": 90, "team_ids": [team]},
            user="admin",
        )
        assert status == 201
        assert created["team_ids"] == [team]
        assert created["post_duration"] == 90
        pid = created["id"]
        status, got = api.request("GET", f"{BASE}/policies/{pid}", user="admin")
        assert status == 200
        assert got == created
        status, page = api.request("GET", f"{BASE}/policies?page=0&per_page=200", user="admin")
        assert pid in {p["id"] for p in page["policies"]}
        assert page["total_count"] >= 1
        status, patched = api.request("PATCH", f"{BASE}/policies/{pid}", {"post_duration": -1}, user="admin")
        assert status == 200
        assert patched["post_duration_days"] is None
        status, added = api.request("POST", f"{BASE}/policies/{pid}/channels", [chan], user="admin")
        assert status == 200
        assert added["channel_ids"] == [chan]
        assert api.request("GET", f"{BASE}/policies/{pid}/channels", user="admin") == (
            200,
            {"channel_ids": [chan]},
        )
        status, removed = api.request("DELETE", f"{BASE}/policies/{pid}/teams", [team], user="admin")
        assert status == 200
        assert removed["team_ids"] == []
        status, deleted = api.request("DELETE", f"{BASE}/policies/{pid}", user="admin")
        assert status == 200
        assert deleted["deleted"]["id"] == pid
        assert (
            db.execute(
                "SELECT count(*) FROM retentionpolicieschannels WHERE policyid = %s", (pid,)
            ).fetchone()[0]
            == 0
        )
        actors = {
            e["actor"]
            for e in audit.history(db, event_prefix="retention.policy")
            if e["payload"]["policy_id"] == pid
        }
        assert actors == {"admin"}  # the Airflow user name, as the UI and the tasks record it

    @pytest.mark.parametrize(
        ("body", "code"),
        [
            ({"display_name": "x", "post_duration_days": 0}, "RETENTION_INVALID_DURATION"),
            ({"display_name": "x", "post_duration": -5}, "RETENTION_INVALID_DURATION"),
            ({"display_name": "x", "team_ids": ["a" * 26]}, "RETENTION_INVALID_TEAM"),
            ({"display_name": "x", "channel_ids": ["b" * 26]}, "RETENTION_INVALID_CHANNEL"),
            ({"display_name": "x" * 65}, "RETENTION_INVALID_POLICY"),
            ({"post_duration_days": 3}, "RETENTION_INVALID_POLICY"),
        ],
        ids=["zero", "negative", "unknown-team", "unknown-channel", "long-name", "no-name"],
    )
    def test_400(self, api, body, code):
        status, error = api.request("POST", f"{BASE}/policies", body, user="admin")
        assert (status, error["id"], error["status_code"]) == (400, code, 400)
        assert error["message"]

    def test_400_not_json(self, api):
        status, error = api.request("POST", f"{BASE}/policies", raw=b"{nope", user="admin")
        assert (status, error["id"]) == (400, "MMGOV_INVALID_JSON")

    def test_404(self, api):
        missing = new_id()
        for method, path, body in (
            ("GET", f"/policies/{missing}", None),
            ("PATCH", f"/policies/{missing}", {"display_name": "y"}),
            ("DELETE", f"/policies/{missing}", None),
        ):
            status, error = api.request(method, BASE + path, body, user="admin")
            assert (status, error["id"]) == (404, "RETENTION_POLICY_NOT_FOUND"), method

    def test_409_scope_in_another_policy(self, api, ws):
        team = ws.team()
        assert (
            api.request("POST", f"{BASE}/policies", {"display_name": "a", "team_ids": [team]}, user="admin")[
                0
            ]
            == 201
        )
        status, error = api.request(
            "POST", f"{BASE}/policies", {"display_name": "b", "team_ids": [team]}, user="admin"
        )
        assert (status, error["id"]) == (409, "RETENTION_SCOPE_CONFLICT")
        assert team in error["message"]


class TestHoldsRunsRestore:
    def test_hold_lifecycle(self, api, ws):
        user = ws.user()
        status, hold = api.request(
            "POST",
            f"{BASE}/legal_holds",
            {"name": "Case 7", "scope": "user", "target_id": user, "start_ms": 0, "end_ms": 10},
            user="admin",
        )
        assert status == 201
        assert hold["active"]
        assert hold["created_by"] == "admin"
        assert api.request("GET", f"{BASE}/legal_holds/{hold['id']}", user="admin")[1] == hold
        status, released = api.request("POST", f"{BASE}/legal_holds/{hold['id']}/release", user="admin")
        assert status == 200
        assert not released["active"]
        status, error = api.request("POST", f"{BASE}/legal_holds/{hold['id']}/release", user="admin")
        assert (status, error["id"]) == (409, "LEGAL_HOLD_ALREADY_RELEASED")
        assert api.request("GET", f"{BASE}/legal_holds/{new_id()}", user="admin")[0] == 404
        status, error = api.request(
            "POST", f"{BASE}/legal_holds", {"name": "x", "scope": "planet", "target_id": user}, user="admin"
        )
        assert (status, error["id"]) == (400, "LEGAL_HOLD_INVALID")

    def test_preview_and_restore(self, api, db, ws):
        from mmgov.retention.purge import soft_delete
        from tests.retention.builders import settings

        chan = ws.channel(ws.team())
        ws.now = int(__import__("time").time() * 1000)
        posts = {ws.post(chan, 200) for _ in range(3)}
        status, preview = api.request("POST", f"{BASE}/purge_runs/preview", user="admin")
        assert status == 200
        assert preview["dry_run"]
        assert preview["messages_to_delete"] >= 3
        assert deleted_posts(db) & posts == set()
        s = settings(**SETTINGS)
        from mmgov.retention.preview import preview_purge

        run = preview_purge(db, s)
        soft_delete(db, s, run["run_id"])
        assert posts <= deleted_posts(db)
        status, one = api.request("GET", f"{BASE}/purge_runs/{run['run_id']}", user="admin")
        assert status == 200
        assert one["status"] == "completed"
        status, result = api.request(
            "POST", f"{BASE}/purge_runs/{run['run_id']}/restore", {"channel_id": chan}, user="admin"
        )
        assert status == 200
        assert result["messages_restored"] == 3
        assert deleted_posts(db) & posts == set()
        assert api.request("POST", f"{BASE}/purge_runs/{new_id()}/restore", user="admin")[0] == 404
        status, effective = api.request("GET", f"{BASE}/channels/{chan}/effective_policy", user="admin")
        assert status == 200
        assert effective["source"] == "global"


def test_restore_is_for_admins_and_gdpr_export_admins(api, db, ws):
    """Mmgov.GdprExportAdmins (here the OP user dpo) may restore; other non-admins are refused and audited."""
    from mmgov.retention.preview import preview_purge
    from mmgov.retention.purge import soft_delete
    from tests.retention.builders import settings

    chan = ws.channel(ws.team())
    ws.now = int(__import__("time").time() * 1000)
    posts = {ws.post(chan, 200) for _ in range(2)}
    s = settings(**SETTINGS)
    run = preview_purge(db, s)
    soft_delete(db, s, run["run_id"])
    assert posts <= deleted_posts(db)
    path = f"{BASE}/purge_runs/{run['run_id']}/restore"
    for user in ("viewer", "user", "op"):
        status, body = api.request("POST", path, {"channel_id": chan}, user=user)
        assert (status, body["id"]) == (403, "RETENTION_RESTORE_NOT_ALLOWED"), body
        assert f"Airflow user '{user}' may not restore" in body["message"]
        assert "Mmgov.GdprExportAdmins (dpo)" in body["message"]
        refused = audit.history(db, event_prefix="retention.restore_refused", limit=1)[0]
        assert (refused["actor"], refused["payload"]["path"]) == (user, path)
    assert posts <= deleted_posts(db)
    status, result = api.request("POST", path, {"channel_id": chan}, user="dpo")
    assert status == 200, result
    assert result["messages_restored"] == 2
    assert deleted_posts(db) & posts == set()
    assert audit.history(db, event_prefix="retention.restored", limit=1)[0]["actor"] == "dpo"
    # dpo is not an admin: the rest of the API stays closed to it
    assert api.request("GET", f"{BASE}/policies", user="dpo")[0] == 403


class TestNames:
    """Names wherever ids are accepted (ids still work), and runs by their Airflow run id."""

    @pytest.fixture
    def named(self, ws):
        suffix = new_id()[:6]
        team = ws.team(f"sales{suffix}")
        return {
            "suffix": suffix,
            "team": team,
            "team_name": f"sales{suffix}",
            "deals": ws.channel(team, name="deals"),
            "user": ws.user(f"bob{suffix}"),
        }

    def test_policy_and_effective_policy_by_names(self, api, named):
        team = named["team_name"]
        status, created = api.request(
            "POST",
            f"{BASE}/policies",
            {"display_name": "By name", "post_duration_days": 30, "team_ids": [team], "channel_ids": []},
            user="admin",
        )
        assert status == 201, created
        assert created["team_ids"] == [named["team"]]
        status, added = api.request(
            "POST", f"{BASE}/policies/{created['id']}/channels", [f"{team}/deals"], user="admin"
        )
        assert (status, added["channel_ids"]) == (200, [named["deals"]])
        status, eff = api.request("GET", f"{BASE}/channels/{team}/deals/effective_policy", user="admin")
        assert (status, eff["source"], eff["policy_id"]) == (200, "channel", created["id"])
        status, found = api.request("GET", f"{BASE}/search/channels?term={team}/de", user="admin")
        assert found["channels"] == [
            {"id": named["deals"], "path": f"{team}/deals", "label": f"{team} / deals"}
        ]
        assert api.request("DELETE", f"{BASE}/policies/{created['id']}", user="admin")[0] == 200

    @pytest.mark.parametrize(
        ("path", "body", "code"),
        [
            ("policies", {"display_name": "x", "team_ids": ["no-such-team"]}, "RETENTION_INVALID_TEAM"),
            ("policies", {"display_name": "x", "channel_ids": ["nope/deals"]}, "RETENTION_INVALID_CHANNEL"),
            ("legal_holds", {"name": "x", "scope": "user", "target": "nobody-here"}, "LEGAL_HOLD_INVALID"),
        ],
        ids=["unknown-team", "unknown-channel", "unknown-user"],
    )
    def test_unknown_names_are_400_naming_them(self, api, path, body, code):
        status, error = api.request("POST", f"{BASE}/{path}", body, user="admin")
        assert (status, error["id"]) == (400, code)
        assert "no such" in error["message"]

    @pytest.mark.parametrize("ref", ["bob", "@bob", "BOB@example.com"], ids=["username", "at", "email"])
    def test_hold_by_username_or_email(self, api, named, ref):
        ref = ref.replace("bob", f"bob{named['suffix']}").replace("BOB", f"BOB{named['suffix']}")
        status, hold = api.request(
            "POST", f"{BASE}/legal_holds", {"name": "Case", "scope": "user", "target": ref}, user="admin"
        )
        assert (status, hold["target_id"]) == (201, named["user"])

    def test_restore_by_airflow_run_id_and_channel_name_explains_nothing_left(self, api, db, ws, named):
        from urllib.parse import quote

        from mmgov.retention.preview import preview_purge
        from mmgov.retention.purge import soft_delete
        from tests.retention.builders import settings

        ws.now = int(__import__("time").time() * 1000)
        post = ws.post(named["deals"], 200)
        dag_run_id = f"manual__2026-01-01T00:00:00+00:00-{named['suffix']}"
        s = settings(**SETTINGS)
        run = preview_purge(db, s, dag_run_id=dag_run_id)
        soft_delete(db, s, run["run_id"])
        assert post in deleted_posts(db)
        path = f"{BASE}/purge_runs/{quote(dag_run_id, safe='')}"
        status, one = api.request("GET", path, user="admin")
        assert (status, one["id"]) == (200, run["run_id"])
        body = {"channel_id": f"{named['team_name']}/deals"}
        status, result = api.request("POST", f"{path}/restore", body, user="admin")
        assert (status, result["channel_id"], result["messages_restored"]) == (200, named["deals"], 1)
        assert post not in deleted_posts(db)
        status, again = api.request("POST", f"{path}/restore", body, user="admin")
        assert (status, again["messages_restored"]) == (200, 0)
        assert "already restored" in again["note"]
        status, error = api.request("POST", f"{BASE}/purge_runs/manual__nope/restore", user="admin")
        assert (status, error["id"]) == (404, "RETENTION_RUN_NOT_FOUND")
        assert "Airflow run id" in error["message"]
