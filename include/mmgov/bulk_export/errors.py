"""The GDPR export's typed errors, with the seed's codes and HTTP statuses."""

from __future__ import annotations

from mmgov.errors import MmgovError


class ExportFailed(MmgovError):
    """An unrecoverable error during the export (database error, disk full, ...): the job fails."""

    code = "EXPORT_FAILED"
    status = 500


class ExportPermissionDenied(MmgovError, PermissionError):
    """The run was triggered by someone who is not allowed to run data exports."""

    code = "EXPORT_PERMISSION_DENIED"
    status = 403
    retryable = False  # the task edge fails the task at once


class ExportOutputPathUnavailable(MmgovError, OSError):
    """``output_path`` is not a writable folder; raised before any work starts."""

    code = "EXPORT_OUTPUT_PATH_UNAVAILABLE"
    status = 503


class ExportParamError(MmgovError, ValueError):
    """A bad trigger-form parameter (names the field, the value and what is allowed)."""

    code = "EXPORT_INVALID_PARAM"
    status = 400
