"""Reconciliation: batch numbering, spans and counts against the database's."""

from __future__ import annotations

import pytest

from mmgov.compliance.delivery import StagedFile
from mmgov.compliance.export_window import ExportWindow
from mmgov.compliance.formats import BatchResult
from mmgov.compliance.reconcile import BatchRecord, ReconciliationError, raise_for_problems, reconcile


def test_reconcile_reports_gaps_and_counts():
    res = BatchResult("z", posts=2)
    recs = [
        BatchRecord(1, "a", 0, 5, 2, 0, res, StagedFile("a", 1, "x")),
        BatchRecord(3, "b", 6, 10, 2, 0, BatchResult("z", posts=1), StagedFile("b", 1, "x")),
    ]
    report = reconcile(ExportWindow(0, 11), 4, 0, recs)
    text = " | ".join(report.problems)
    assert "expected batch number 2" in text
    assert "starts at 6, expected 5" in text
    assert "2 posts extracted, format handled 1" in text
    assert "window ends at 11" in text
    with pytest.raises(ReconciliationError, match="nothing delivered"):
        raise_for_problems(report)
