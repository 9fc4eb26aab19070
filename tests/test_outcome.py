"""Run notes from summaries, and which errors fail without retries (mmgov.outcome)."""

from __future__ import annotations

import smtplib

import psycopg
import pytest

from mmgov.compliance.delivery import DeliveryError
from mmgov.compliance.globalrelay_delivery import GlobalRelayTemporaryError
from mmgov.errors import SettingsError
from mmgov.outcome import failure_note, is_deterministic, run_note

SIGNED = {
    "manifest": "/x/manifest.json",
    "manifest_sha256": "ab" * 32,
    "signed": True,
    "signing_key_id": "0123456789abcdef0123",
}


class TestNotes:
    def test_compliance(self):
        note = run_note(
            "compliance_export",
            {
                "messages": 1907,
                "files": 62,
                "warnings": 0,
                "files_missing": 0,
                "location": "/e/x",
                "custody": SIGNED,
            },
        )
        assert note == (
            "1,907 messages, 62 files -> /e/x, 0 warnings. Manifest: `/x/manifest.json` "
            f"(SHA-256 `{'ab' * 32}`), signed (Ed25519, key `0123456789abcdef…`)."
        )

    def test_compliance_missing_files_and_unsigned(self):
        note = run_note(
            "compliance_export",
            {"messages": 1, "files": 0, "warnings": 9, "files_missing": 9, "location": "/e", "custody": None},
        )
        assert note == (
            "1 message, 0 files -> /e, 9 warnings, 9 files MISSING from the file store. Manifest: none written."
        )

    def test_purge(self):
        assert run_note(
            "retention_purge", {"status": "rejected", "rejected_by": "ann", "messages_to_delete": 5}
        ) == ("REJECTED by ann: nothing deleted. (planned: 5 messages, 0 files)")
        assert (
            run_note(
                "retention_purge",
                {"status": "completed", "messages_deleted": 5681, "files_deleted": 2, "approved_by": "bob"},
            )
            == "5,681 messages, 2 files soft-deleted (restorable), approved by bob."
        )
        assert run_note(
            "retention_purge", {"status": "dry_run", "messages_to_delete": 3, "files_to_delete": 1}
        ) == ("DRY RUN: nothing deleted; would delete 3 messages, 1 file.")

    def test_removal_gdpr_custody(self):
        assert run_note("retention_physical_removal", {"status": "rejected", "rejected_by": "ann"}) == (
            "REJECTED by ann: nothing deleted."
        )
        gdpr = {
            "output_path": "/out/gdpr-export-x.zip",
            "num_warnings": 2,
            "files_missing": 2,
            "progress": {
                "users_exported": 3,
                "posts_exported": 10,
                "direct_posts_exported": 2,
                "attachments_exported": 4,
            },
        }
        assert run_note("gdpr_export", gdpr) == (
            "3 users, 12 messages, 4 files -> /out/gdpr-export-x.zip, 2 warnings, 2 files MISSING from the file store."
        )
        assert run_note("custody", {"status": "ok", "removed": [1, 2], "held": [3], "refused": []}) == (
            "2 exports expired, 1 held, 0 refused; monthly rollups written."
        )

    def test_failure_is_one_line_code_first(self):
        exc = SettingsError("Mmgov.RetentionApproval must be one of always, on_change, never; got 'x'\nmore")
        assert failure_note(exc, task_id="preview") == (
            "FAILED in preview: MMGOV_INVALID_SETTING: Mmgov.RetentionApproval must be one of always, on_change,"
            " never; got 'x'"
        )
        assert failure_note(RuntimeError("boom")) == "FAILED: RuntimeError: boom"
        # An AirflowFailException raised with "CODE: message" keeps its code first.
        assert failure_note(Exception("COMPLIANCE_EXPORT_UNCAPTURED_GROWTH: 3 post versions")) == (
            "FAILED: COMPLIANCE_EXPORT_UNCAPTURED_GROWTH: 3 post versions"
        )


def _caused(exc: Exception, cause: Exception) -> Exception:
    exc.__cause__ = cause
    return exc


class _ClientError(Exception):
    def __init__(self, status: int):
        super().__init__(f"HTTP {status}")
        self.response = {"ResponseMetadata": {"HTTPStatusCode": status}}


@pytest.mark.parametrize(
    ("exc", "deterministic"),
    [
        (SettingsError("bad"), True),
        (DeliveryError("not writable"), True),
        (_caused(DeliveryError("upload"), _ClientError(503)), False),
        (_caused(DeliveryError("upload"), _ClientError(403)), True),
        (GlobalRelayTemporaryError("421"), False),
        (PermissionError("denied"), True),
        (psycopg.OperationalError("connection refused"), False),
        (psycopg.errors.UndefinedTable("no table"), True),
        (smtplib.SMTPResponseException(451, b"later"), False),
        (smtplib.SMTPResponseException(550, b"no"), True),
        (RuntimeError("unknown"), False),
    ],
    ids=[
        "setting",
        "unwritable",
        "s3-5xx",
        "s3-403",
        "smtp-temporary",
        "permission",
        "db-connection",
        "db-missing-table",
        "smtp-4xx",
        "smtp-5xx",
        "unknown",
    ],
)
def test_is_deterministic(exc, deterministic):
    assert is_deterministic(exc) is deterministic
