"""The Governance console's pages: HTML rendered from the same domain calls as the REST API.

One module per page group; importing this module registers them all on :data:`router` (in the
order of the navigation). Forms post back to the page (no JavaScript needed; the pickers use the
API's ``/search`` endpoints). Errors are shown next to the field they name, with the seeds' error codes.
"""

from __future__ import annotations

from mmgov_airflow.console import audit_page, export_pages, hold_pages, policy_pages, run_pages
from mmgov_airflow.console.base import Refused, refusal, router

__all__ = [
    "Refused",
    "audit_page",
    "export_pages",
    "hold_pages",
    "policy_pages",
    "refusal",
    "router",
    "run_pages",
]
