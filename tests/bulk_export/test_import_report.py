"""The validation report: the verdict, the counts in import order, and the capped human-readable list."""

from __future__ import annotations

import io
import json
from collections import Counter

from mmgov.bulk_export.import_report import Finding, ValidationReport, print_report


def _report() -> ValidationReport:
    errors = [Finding(3, "error", "team.name.invalid", "bad name"), Finding(5, "error", "x.y", "z")]
    return ValidationReport(
        lines=6,
        counts=Counter({"post": 2, "version": 1, "team": 1, "user": 2}),
        errors=errors,
        warnings=[Finding(4, "warning", "post.props.dropped", "dropped")],
        error_count=4,  # two more found than kept
        warning_count=1,
    )


def test_warnings_alone_keep_a_report_valid():
    report = ValidationReport(warnings=[Finding(1, "warning", "w", "m")], warning_count=1)
    assert report.ok
    assert report.summary() == "valid: 0 lines (); 0 errors, 1 warnings"


def test_summary_lists_the_line_types_in_import_order():
    assert _report().summary() == (
        "INVALID: 6 lines (version=1, team=1, user=2, post=2); 4 errors, 1 warnings"
    )


def test_codes_count_the_kept_findings_per_severity():
    report = _report()
    assert report.codes() == Counter({"team.name.invalid": 1, "x.y": 1, "post.props.dropped": 1})
    assert report.codes("warning") == Counter({"post.props.dropped": 1})


def test_the_json_form_carries_counts_and_findings():
    data = json.loads(json.dumps(_report().to_dict()))
    assert (data["ok"], data["error_count"], data["counts"]["post"]) == (False, 4, 2)
    assert data["errors"][0] == {
        "line": 3,
        "severity": "error",
        "code": "team.name.invalid",
        "message": "bad name",
    }


def test_print_report_shows_the_first_findings_and_how_many_more():
    out = io.StringIO()
    print_report(_report(), out, limit=2)
    assert out.getvalue().splitlines() == [
        "INVALID: 6 lines (version=1, team=1, user=2, post=2); 4 errors, 1 warnings",
        "  line 3: error team.name.invalid: bad name",
        "  line 5: error x.y: z",
        "  ... and 3 more",
    ]
