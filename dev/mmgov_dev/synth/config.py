"""What to generate (:class:`SynthConfig`) and what was generated (:class:`SynthSummary`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mmgov.errors import MmgovError

DAY_MS = 86_400_000
MIN_USERS = 12
MIN_POSTS = 500


class SynthConfigError(MmgovError, ValueError):
    """A bad :class:`SynthConfig` value."""

    code = "SYNTH_INVALID_CONFIG"
    status = 400


class SynthTargetNotEmpty(MmgovError, RuntimeError):
    """The target database already holds Mattermost data: the generator never writes over it."""

    code = "SYNTH_TARGET_NOT_EMPTY"
    status = 409


@dataclass
class SynthConfig:
    """Size and shape of a synthetic workspace; ``None`` fields scale with ``posts``."""

    posts: int = 10_000
    seed: int = 42
    days: int = 90
    end_ms: int | None = None
    file_root: Path | None = None
    teams: int | None = None
    users: int | None = None
    channels_per_team: int | None = None
    dms: int | None = None
    gms: int | None = None
    bots: int | None = None
    attachment_ratio: float = 0.03
    missing_files: int = 3

    def resolve(self) -> ResolvedConfig:
        """Fill the scaled defaults and validate; raises :class:`SynthConfigError`."""
        posts = self.posts
        _check_int("posts", posts, MIN_POSTS)
        _check_int("days", self.days, 1)
        _check_int("missing_files", self.missing_files, 0)
        if not 0.0 <= self.attachment_ratio <= 1.0:
            raise SynthConfigError(f"attachment_ratio must be between 0 and 1, got {self.attachment_ratio!r}")
        end_ms = self.end_ms if self.end_ms is not None else today_utc_ms()
        _check_int("end_ms", end_ms, self.days * DAY_MS)
        users = self.users if self.users is not None else min(2000, 20 + posts // 500)
        _check_int("users", users, MIN_USERS)
        teams = (
            self.teams if self.teams is not None else (3 if posts < 200_000 else min(8, 3 + posts // 250_000))
        )
        _check_int("teams", teams, 1)
        per_team = self.channels_per_team
        per_team = per_team if per_team is not None else min(60, 4 + posts // 20_000)
        _check_int("channels_per_team", per_team, 3)
        max_pairs = users * (users - 1) // 2
        dms = self.dms if self.dms is not None else min(max_pairs // 2, 8 + posts // 2500)
        _check_int("dms", dms, 3)
        gms = self.gms if self.gms is not None else 4 + posts // 25_000
        _check_int("gms", gms, 3)
        bots = self.bots if self.bots is not None else min(10, 3 + users // 250)
        _check_int("bots", bots, 2)
        return ResolvedConfig(
            posts=posts,
            seed=self.seed,
            days=self.days,
            start_ms=end_ms - self.days * DAY_MS,
            end_ms=end_ms,
            file_root=Path(self.file_root) if self.file_root is not None else None,
            teams=teams,
            users=users,
            channels_per_team=per_team,
            dms=dms,
            gms=gms,
            bots=bots,
            attachment_ratio=self.attachment_ratio,
            missing_files=self.missing_files,
        )


@dataclass(frozen=True)
class ResolvedConfig:
    """A :class:`SynthConfig` with every size fixed."""

    posts: int
    seed: int
    days: int
    start_ms: int
    end_ms: int
    file_root: Path | None
    teams: int
    users: int
    channels_per_team: int
    dms: int
    gms: int
    bots: int
    attachment_ratio: float
    missing_files: int

    def marker(self) -> dict[str, Any]:
        """The parameters recorded in the ``systems`` table (no paths: data stays location-free)."""
        doc = dataclasses.asdict(self)
        doc.pop("file_root")
        return doc


@dataclass
class SynthSummary:
    """Row counts, the time span, and ids of notable records (for tests and demos)."""

    seed: int
    start_ms: int
    end_ms: int
    file_root: Path | None
    counts: dict[str, int] = field(default_factory=dict)
    post_kinds: dict[str, int] = field(default_factory=dict)
    handles: dict[str, str] = field(default_factory=dict)
    missing_file_ids: list[str] = field(default_factory=list)
    retention_policy_ids: list[str] = field(default_factory=list)
    blobs_written: int = 0
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        doc = dataclasses.asdict(self)
        doc["file_root"] = str(self.file_root) if self.file_root is not None else None
        return doc


def today_utc_ms() -> int:
    """Today 00:00 UTC in epoch milliseconds."""
    now = datetime.now(UTC)
    return int(now.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()) * 1000


def _check_int(name: str, value: object, minimum: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise SynthConfigError(f"{name} must be an integer >= {minimum}, got {value!r}")
