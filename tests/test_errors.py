"""Typed errors: a stable code and an HTTP status, as the APIs return them."""

from __future__ import annotations

import pytest

from mmgov.errors import MmgovError, SettingsError


def test_defaults_and_overrides():
    assert (MmgovError("x").code, MmgovError("x").status) == ("MMGOV_ERROR", 500)
    err = MmgovError("gone", code="MMGOV_GONE", status=410)
    assert err.to_dict() == {"id": "MMGOV_GONE", "message": "gone", "status_code": 410}
    assert MmgovError.code == "MMGOV_ERROR"  # an override stays on the instance


def test_a_settings_error_is_a_400_and_a_value_error():
    with pytest.raises(ValueError, match="bad key") as info:
        raise SettingsError("bad key")
    assert info.value.to_dict() == {"id": "MMGOV_INVALID_SETTING", "message": "bad key", "status_code": 400}
