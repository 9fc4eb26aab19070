"""Retention's typed errors: the seed's codes (``RETENTION_*``) and mmgov's own, each with its HTTP status."""

from __future__ import annotations

from mmgov.errors import MmgovError


class RetentionError(MmgovError):
    """Base class of retention errors."""

    code = "RETENTION_ERROR"
    status = 400


class InvalidDuration(RetentionError):
    """``post_duration_days`` is zero, negative or not a whole number."""

    code = "RETENTION_INVALID_DURATION"
    status = 400


class InvalidTeam(RetentionError):
    """One or more team ids do not exist."""

    code = "RETENTION_INVALID_TEAM"
    status = 400


class InvalidChannel(RetentionError):
    """One or more channel ids do not exist."""

    code = "RETENTION_INVALID_CHANNEL"
    status = 400


class InvalidPolicy(RetentionError):
    """A policy field other than the duration is malformed (display name, id lists, unknown field)."""

    code = "RETENTION_INVALID_POLICY"
    status = 400


class PolicyNotFound(RetentionError):
    code = "RETENTION_POLICY_NOT_FOUND"
    status = 404


class ScopeConflict(RetentionError):
    """A team or channel is already assigned to another policy (each is in at most one)."""

    code = "RETENTION_SCOPE_CONFLICT"
    status = 409


class InvalidHold(RetentionError):
    code = "LEGAL_HOLD_INVALID"
    status = 400


class HoldNotFound(RetentionError):
    code = "LEGAL_HOLD_NOT_FOUND"
    status = 404


class HoldAlreadyReleased(RetentionError):
    code = "LEGAL_HOLD_ALREADY_RELEASED"
    status = 409


class RunNotFound(RetentionError):
    code = "RETENTION_RUN_NOT_FOUND"
    status = 404


class RestoreWindowClosed(RetentionError):
    """The run's content was soft-deleted longer ago than ``Mmgov.PurgeGraceDays``."""

    code = "RETENTION_RESTORE_WINDOW_CLOSED"
    status = 409


class PlanChanged(RetentionError):
    """Policies or settings changed between the preview and the deletion: preview again."""

    code = "RETENTION_PLAN_CHANGED"
    status = 409


class ApprovalMissing(RetentionError):
    """The run needs a person's approval and has none (or was rejected)."""

    code = "RETENTION_APPROVAL_MISSING"
    status = 409


class NotAnApprover(RetentionError):
    """Someone other than ``Mmgov.RetentionApprovers`` (default: the Airflow admins) answered an approval."""

    code = "RETENTION_APPROVER_REQUIRED"
    status = 403


class RestoreNotAllowed(RetentionError):
    """A restore by someone who is neither an Airflow admin nor in ``Mmgov.GdprExportAdmins``."""

    code = "RETENTION_RESTORE_NOT_ALLOWED"
    status = 403
