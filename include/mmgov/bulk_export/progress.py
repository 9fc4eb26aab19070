"""A GDPR export's progress: the job row (throttled), a log line and an ``export.progress`` event
when an entity type is done (the seed's entity names).
"""

from __future__ import annotations

import logging
import time

import psycopg

from mmgov import audit
from mmgov.bulk_export import job_state

log = logging.getLogger(__name__)


# Progress counters whose completion is an ``export.progress`` event, with the seed's entity names.
ENTITY_OF_COUNTER = {
    "team_schemes_exported": "team_schemes",
    "channel_schemes_exported": "channel_schemes",
    "roles_exported": "roles",
    "teams_exported": "teams",
    "channels_exported": "channels",
    "users_exported": "users",
    "bots_exported": "bots",
    "posts_exported": "posts",
    "emojis_exported": "emoji",
    "direct_channels_exported": "direct_channels",
    "direct_posts_exported": "direct_posts",
}


PROGRESS_ROW_EVERY_S = 5.0


class ProgressReporter:
    """Pushes progress to the job row (throttled), the log and ``export.progress`` events."""

    def __init__(self, state_conn: psycopg.Connection, job_id: str, ctx_progress: dict[str, int]):
        self.state_conn = state_conn
        self.job_id = job_id
        self.progress = ctx_progress
        self.last_write = 0.0

    def __call__(self, key: str, value: int) -> None:
        now = time.monotonic()
        entity = ENTITY_OF_COUNTER.get(key)
        if entity is None and now - self.last_write < PROGRESS_ROW_EVERY_S:
            return
        self.last_write = now
        job_state.update_progress(self.state_conn, self.job_id, self.progress)
        if entity is not None:
            log.info(
                "GDPR export %s: %s done, %d written (%s)",
                self.job_id,
                entity,
                value,
                ", ".join(f"{k}={v}" for k, v in self.progress.items() if v),
            )
            audit.record(
                self.state_conn,
                "export.progress",
                {"job_id": self.job_id, "entity_type": entity, "records_written": value},
            )
