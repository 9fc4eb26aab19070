"""The one-line outcome of a run (its Airflow run note), and which errors a retry cannot fix.

The run note is what an operator reads first, so it never says more than the run did: a
rejection says nothing was deleted, missing files are counted, a failure starts with ``FAILED``
and the error's code. Built here from the run's summary (the last task's XCom), written by the
``mmgov_airflow.outcomes`` listener when the run ends.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

OUTCOME_KEY = "mmgov_outcome"  # XCom key of the note text a task leaves for its run
MAX_NOTE = 1000


def _n(value: Any) -> str:
    return f"{int(value or 0):,}"


def _plural(value: Any, word: str) -> str:
    return f"{_n(value)} {word}{'' if int(value or 0) == 1 else 's'}"


def _custody(summary: Mapping[str, Any]) -> str:
    if "custody" not in summary:
        return ""
    from mmgov.custody.manifest import note_text

    return " " + note_text(summary.get("custody"))


def _missing(count: Any) -> str:
    return f", {_plural(count, 'file')} MISSING from the file store" if int(count or 0) else ""


def compliance_note(summary: Mapping[str, Any]) -> str:
    """``1,907 messages, 62 files -> <location>, 0 warnings`` (plus missing files and the manifest)."""
    where = summary.get("location") or summary.get("format", "delivery")
    return (
        f"{_plural(summary.get('messages'), 'message')}, {_plural(summary.get('files'), 'file')} -> {where}, "
        f"{_plural(summary.get('warnings'), 'warning')}{_missing(summary.get('files_missing'))}."
        + _custody(summary)
    )


def gdpr_note(summary: Mapping[str, Any]) -> str:
    progress = summary.get("progress") or {}
    posts = int(progress.get("posts_exported", 0)) + int(progress.get("direct_posts_exported", 0))
    files = int(progress.get("attachments_exported", 0)) + int(progress.get("profile_pictures_exported", 0))
    missing = summary.get("files_missing", summary.get("num_warnings", 0))
    return (
        f"{_plural(progress.get('users_exported'), 'user')}, {_plural(posts, 'message')}, "
        f"{_plural(files, 'file')} -> {summary.get('output_path')}, "
        f"{_plural(summary.get('num_warnings'), 'warning')}{_missing(missing)}." + _custody(summary)
    )


def _rejected(summary: Mapping[str, Any]) -> str:
    return f"REJECTED by {summary.get('rejected_by') or 'unknown'}: nothing deleted."


def purge_note(summary: Mapping[str, Any]) -> str:
    status = summary.get("status")
    planned = f"{_plural(summary.get('messages_to_delete'), 'message')}, {_plural(summary.get('files_to_delete'), 'file')}"
    if status == "rejected":
        return f"{_rejected(summary)} (planned: {planned})"
    if status == "dry_run":
        return f"DRY RUN: nothing deleted; would delete {planned}."
    if status == "completed":
        who = summary.get("approved_by")
        return (
            f"{_plural(summary.get('messages_deleted'), 'message')}, "
            f"{_plural(summary.get('files_deleted'), 'file')} soft-deleted (restorable)"
            f"{f', approved by {who}' if who else ''}."
        )
    return f"{str(status).upper()}: nothing deleted (planned: {planned})."


def removal_note(summary: Mapping[str, Any]) -> str:
    status = summary.get("status")
    if status == "rejected":
        return _rejected(summary)
    if status == "completed":
        refused = len(summary.get("refused_paths") or [])
        return (
            f"{_plural(summary.get('messages_removed'), 'message')}, {_plural(summary.get('files_removed'), 'file')}"
            f" removed for good ({_plural(summary.get('objects_removed'), 'object')} from the file store"
            f"{f', {refused} paths refused' if refused else ''})."
        )
    return f"{str(status).upper()}: nothing removed."


def custody_note(summary: Mapping[str, Any]) -> str:
    status = str(summary.get("status", ""))
    if status.startswith("disabled"):
        return "Export expiry off (Mmgov.ExportRetentionDays is 0); monthly rollups written."
    return (
        f"{_plural(len(summary.get('removed') or []), 'export')} expired, {_n(len(summary.get('held') or []))} held, "
        f"{_n(len(summary.get('refused') or []))} refused; monthly rollups written."
    )


NOTES: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "compliance_export": compliance_note,
    "gdpr_export": gdpr_note,
    "retention_purge": purge_note,
    "retention_physical_removal": removal_note,
    "custody": custody_note,
}


def files_missing(dag_id: str, summary: Mapping[str, Any]) -> int:
    """Files the run could not copy from the file store (a warning alert goes out when > 0)."""
    if dag_id == "compliance_export":
        return int(summary.get("files_missing") or 0)
    if dag_id == "gdpr_export":
        return int(summary.get("num_warnings") or 0)
    return 0


def run_note(dag_id: str, summary: Mapping[str, Any]) -> str:
    """The note of a finished run of ``dag_id`` from its summary."""
    return _one_line(NOTES[dag_id](summary))


def failure_note(exc: BaseException, *, task_id: str | None = None) -> str:
    """``FAILED: <CODE>: <reason>`` (the code of an :class:`~mmgov.errors.MmgovError`, else the type)."""
    where = f" in {task_id}" if task_id else ""
    return _one_line(f"FAILED{where}: {error_line(exc)}")


def error_line(exc: BaseException) -> str:
    """``<CODE>: <first line of the message>``: what the log, the alert and the note start with."""
    text = str(exc).strip().splitlines()
    first = text[0] if text else "(no message)"
    code = getattr(exc, "code", None)
    if code is None and re.match(r"^[A-Z][A-Z0-9_]{2,}: ", first):  # already "CODE: message"
        return first
    return f"{code or type(exc).__name__}: {first}"


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= MAX_NOTE else line[: MAX_NOTE - 1] + "…"


# --- which errors a retry cannot fix --------------------------------------------------------------

_DETERMINISTIC_BUILTINS = (PermissionError, FileNotFoundError, NotADirectoryError, IsADirectoryError)


def is_deterministic(exc: BaseException) -> bool:
    """True when retrying cannot help: bad setting or parameter, unwritable destination, missing
    connection, permission denied, SQL that cannot run (missing table). Lost or refused database
    connections, S3 5xx and SMTP 4xx (and anything unknown) keep their retries; an error's cause decides for wrappers that name one (``raise ... from``).
    """
    from mmgov.errors import MmgovError

    retryable = getattr(exc, "retryable", None)
    if retryable is not None:
        return not retryable
    cause = exc.__cause__
    if isinstance(exc, MmgovError):
        return cause is None or not _is_transient(cause)
    if _is_transient(exc):
        return False
    if type(exc).__name__ == "AirflowNotFoundException":  # a connection that does not exist
        return True
    import smtplib

    if isinstance(exc, smtplib.SMTPResponseException):  # 5xx: refused for good
        return exc.smtp_code >= 500
    import psycopg

    # SQL that cannot run as written: missing table or column, permission denied (InsufficientPrivilege).
    return isinstance(exc, (*_DETERMINISTIC_BUILTINS, psycopg.ProgrammingError))


def _is_transient(exc: BaseException) -> bool:
    import smtplib

    import psycopg

    if isinstance(exc, psycopg.OperationalError | TimeoutError | ConnectionError):
        return True
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return True
    status = getattr(exc, "response", None)
    if isinstance(status, dict):  # botocore ClientError
        code = status.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return code >= 500 or code in (408, 429)
    return type(exc).__name__ in ("EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError")
