"""Run parameters checked by the trigger form (Param schemas) and, across fields, by the first task."""

from __future__ import annotations

import copy
import json
import re

import pytest

from mmgov.compliance.export_window import TIME_PATTERN, ExportWindowError, parse_time_param, resolve_window
from mmgov_dev.devenv import PROJECT_ROOT

NOW = 1_767_225_600_000  # 2026-01-01T00:00:00Z


@pytest.fixture(scope="module")
def compliance_dag():
    from airflow.dag_processing.dagbag import DagBag

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AIRFLOW_VAR_MATTERMOST_SETTINGS", json.dumps({}))
        bag = DagBag(dag_folder=str(PROJECT_ROOT / "dags" / "compliance_export.py"))
    assert bag.import_errors == {}
    return bag.dags["compliance_export"]


@pytest.mark.parametrize(
    "value",
    [
        "2026-01-05",
        "2026-01-05T00:00:00Z",
        "2026-01-05 10:30",
        "2026-01-05T10:30:00.123+02:00",
        "1767225600000",
    ],
)
def test_pattern_accepts_what_the_task_reads(value):
    assert re.match(TIME_PATTERN, value)
    assert parse_time_param("export_from", value) is not None


@pytest.mark.parametrize("value", ["yesterday", "2026-13", "05/01/2026", "2026-01-05T25"])
def test_pattern_refuses_what_the_task_refuses(value):
    assert not re.match(TIME_PATTERN, value)
    with pytest.raises(ExportWindowError, match="export_from must be"):
        parse_time_param("export_from", value)


@pytest.mark.parametrize(
    ("name", "value", "allowed"),
    [
        ("export_from", "yesterday", "does not match"),
        ("export_to", -5, "is less than the minimum of 0"),
        ("export_format", "pdf", "is not one of ['csv', 'actiance', 'globalrelay', 'globalrelay-zip']"),
    ],
    ids=["date-format", "range", "enum"],
)
def test_trigger_form_refuses_bad_values_naming_the_parameter(compliance_dag, name, value, allowed):
    from airflow.sdk.definitions.param import ParamValidationError

    params = copy.deepcopy(compliance_dag.params)
    with pytest.raises(ParamValidationError) as exc:
        params[name] = value  # what the trigger form and the REST API do with a run's conf
    assert name in str(exc.value)
    assert allowed in str(exc.value)


def test_cross_field_errors_answer_in_the_units_given():
    with pytest.raises(ExportWindowError) as iso:
        resolve_window(export_from="2025-12-22T00:00:00Z", export_to="2025-12-01T00:00:00Z", now_ms=NOW)
    assert str(iso.value) == (
        "export_from 2025-12-22T00:00:00Z must be before export_to 2025-12-01T00:00:00Z; "
        "the window is [export_from, export_to)"
    )
    with pytest.raises(ExportWindowError) as ms:
        resolve_window(export_from=NOW - 1000, export_to=NOW - 2000, now_ms=NOW)
    assert str(ms.value).startswith(
        "export_from 1767225599000 (2025-12-31T23:59:59Z) must be before export_to 1767225598000"
    )
