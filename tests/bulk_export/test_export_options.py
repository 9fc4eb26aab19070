"""The trigger form's values, checked before anything is written (``ExportOptions.from_params``)."""

from __future__ import annotations

import re

import pytest

from mmgov.bulk_export.errors import ExportParamError
from mmgov.bulk_export.export_options import ExportOptions


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "output_path is required"),
        ({"output_path": "relative/dir"}, "output_path must be an absolute folder path"),
        ({"output_path": "/x", "create_archive": "yes"}, "create_archive must be true or false, got 'yes'"),
        ({"output_path": "/x", "users": "alice, bob"}, None),
        ({"output_path": "/x", "users": [1]}, "users must contain usernames or e-mail addresses"),
        ({"output_path": "/x", "users": {"a": 1}}, "users must be a list"),
        ({"output_path": "/x", "users": [f"u{i}" for i in range(101)]}, "at most 100 people"),
    ],
    ids=["no-path", "relative", "not-bool", "comma-string", "not-strings", "not-list", "too-many"],
)
def test_trigger_form_values_are_checked(params, message):
    if message is None:
        assert ExportOptions.from_params(params).users == ("alice", "bob")
        return
    with pytest.raises(ExportParamError, match=re.escape(message)):
        ExportOptions.from_params(params)
