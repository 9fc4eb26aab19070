"""Typed errors. Each carries the code of the seeds (or mmgov's own) and, for APIs, an HTTP status."""

from __future__ import annotations


class MmgovError(Exception):
    """Base class: ``code`` is a stable machine-readable name, ``status`` an HTTP status."""

    code = "MMGOV_ERROR"
    status = 500

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None):
        super().__init__(message)
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status

    def to_dict(self) -> dict[str, object]:
        """The JSON body an API returns for this error."""
        return {"id": self.code, "message": str(self), "status_code": self.status}


class SettingsError(MmgovError, ValueError):
    """A bad or unknown key in the ``mattermost_settings`` variable or a run parameter."""

    code = "MMGOV_INVALID_SETTING"
    status = 400
