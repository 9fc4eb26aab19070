"""``GET /mmgov/api/v4/me`` (plugins/mmgov_airflow/api/identity.py) on a real ``airflow api-server``:
any signed-in Airflow user learns the name the audit trail records and whether they count as an admin."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.airflow
SETTINGS: dict = {}
ME = "/mmgov/api/v4/me"


@pytest.mark.parametrize(
    ("user", "admin"), [("admin", True), ("op", False), ("user", False), ("viewer", False)]
)
def test_the_user_behind_the_token(api, user, admin):
    assert api.request("GET", ME, user=user) == (200, {"name": user, "admin": admin})


def test_no_token_is_401(api):
    status, error = api.request("GET", ME)
    assert status == 401
    assert error["id"] == "MMGOV_NOT_AUTHENTICATED"


def test_a_forged_token_is_401(api):
    forged = api.token("admin")[:-4] + "AAAA"
    assert api.request("GET", ME, token=forged)[0] == 401
