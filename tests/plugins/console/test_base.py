"""What every console page shares (plugins/mmgov_airflow/console/base.py): admins only, a sign-in link,
forms from this site only."""

from __future__ import annotations

import pytest

from tests.plugins.browser import Browser, text

pytestmark = pytest.mark.airflow


class TestRefusals:
    @pytest.mark.parametrize("user", ["viewer", "op"])
    def test_non_admin_gets_a_refusal_page(self, api, user):
        status, body = Browser(api, user).get("/mmgov/console/policies")
        assert status == 403
        assert "The Governance console is for Airflow admins only." in text(body)
        assert f"Airflow user '{user}' is not an admin" in text(body)

    def test_not_signed_in_gets_a_sign_in_link(self, api):
        status, body = Browser(api, None).get("/mmgov/console/holds")
        assert status == 401
        assert "Sign in to Airflow first." in text(body)
        assert 'href="/auth/login?next=' in body

    def test_a_form_from_another_site_is_refused(self, admin, db):
        status, body = admin.post(
            "/mmgov/console/policies/new", {"name": "evil", "days": "1"}, origin="http://evil.example"
        )
        assert status == 403
        assert "posted from http://evil.example" in text(body)
        assert (
            db.execute("SELECT count(*) FROM retentionpolicies WHERE displayname = 'evil'").fetchone()[0] == 0
        )
