"""``generate``: build a synthetic Mattermost workspace and bulk-load it with COPY.

Safety rule: the generator only ever writes into empty Mattermost tables; a database holding any
Mattermost data is refused (:class:`SynthTargetNotEmpty`). Everything is loaded in one
transaction, so a failure leaves the tables as they were (blobs already written stay on disk).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Sequence

import psycopg
from psycopg import sql

from mmgov.mattermost_schema import create_mattermost_indexes, create_mattermost_tables
from mmgov_dev.synth.config import (
    ResolvedConfig,
    SynthConfig,
    SynthConfigError,
    SynthSummary,
    SynthTargetNotEmpty,
)
from mmgov_dev.synth.copy_loader import copy_chunks, copy_lines
from mmgov_dev.synth.files import PROFILE_PNGS, BlobWriter, RawBlob
from mmgov_dev.synth.idgen import id_source
from mmgov_dev.synth.messages import MessagePool
from mmgov_dev.synth.model import Workspace
from mmgov_dev.synth.permissions import ROLE_COLUMNS, SCHEME_COLUMNS, Permissions, build_permissions
from mmgov_dev.synth.posts import (
    FILE_COLUMNS,
    POST_COLUMNS,
    REACTION_COLUMNS,
    THREAD_COLUMNS,
    THREAD_MEMBER_COLUMNS,
    PostStream,
    system_post_count,
)
from mmgov_dev.synth.preferences import PREFERENCE_COLUMNS, preference_lines
from mmgov_dev.synth.retention import (
    POLICY_CHANNEL_COLUMNS,
    POLICY_COLUMNS,
    POLICY_TEAM_COLUMNS,
    Policies,
    build_policies,
)
from mmgov_dev.synth.tables import (
    BOT_COLUMNS,
    CHANNEL_COLUMNS,
    CHANNEL_MEMBER_COLUMNS,
    EMOJI_COLUMNS,
    HISTORY_COLUMNS,
    SYSTEM_COLUMNS,
    TEAM_COLUMNS,
    TEAM_MEMBER_COLUMNS,
    USER_COLUMNS,
    bot_lines,
    channel_lines,
    channel_member_lines,
    emoji_lines,
    history_lines,
    system_lines,
    team_lines,
    team_member_lines,
    user_lines,
)
from mmgov_dev.synth.workspace import build_workspace

# Every table the generator fills; all must be empty beforehand.
LOADED_TABLES = (
    "posts", "users", "bots", "teams", "teammembers", "channels", "channelmembers", "channelmemberhistory",
    "fileinfo", "reactions", "emoji", "roles", "schemes", "preferences", "threads", "threadmemberships",
    "retentionpolicies", "retentionpoliciesteams", "retentionpolicieschannels", "systems",
)  # fmt: skip
MIN_CONTENT_POSTS = 200
INDEX_MEMORY = "256MB"


def _ensure_empty(conn: psycopg.Connection) -> None:
    probes = sql.SQL(", ").join(
        sql.SQL("EXISTS (SELECT 1 FROM {})").format(sql.Identifier(t)) for t in LOADED_TABLES
    )
    row = conn.execute(sql.SQL("SELECT ") + probes).fetchone()
    busy = [t for t, used in zip(LOADED_TABLES, row or (), strict=True) if used]
    if busy:
        raise SynthTargetNotEmpty(
            f"refusing to generate into a database whose Mattermost tables hold data: {', '.join(busy)}"
        )


def _raw_blobs(ws: Workspace) -> list[RawBlob]:
    raw: list[RawBlob] = [
        (f"users/{u.id}/profile.png", PROFILE_PNGS[u.idx % len(PROFILE_PNGS)])
        for u in ws.users
        if u.has_picture
    ]
    raw += [(f"emoji/{e.id}/image", e.image) for e in ws.emoji]
    return raw


def _apply_schemes(ws: Workspace, team_scheme: str, channel_scheme: str) -> dict[str, str]:
    team = ws.teams[1] if len(ws.teams) > 1 else ws.teams[0]
    team.schemeid = team_scheme
    channel = next(c for c in ws.channels if c.id == ws.handles["private_channel_id"])
    channel.schemeid = channel_scheme
    return {
        "team_scheme_id": team_scheme,
        "channel_scheme_id": channel_scheme,
        "team_with_scheme_id": team.id,
        "channel_with_scheme_id": channel.id,
    }


class _Loader:
    """COPY each table and remember how many rows went in."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn
        self.counts: dict[str, int] = {}

    def load(self, table: str, columns: Sequence[str], lines: Iterable[str]) -> None:
        rows = lines if isinstance(lines, list) else list(lines)
        copy_lines(self.conn, table, columns, rows)
        self.counts[table] = len(rows)


def _load_tables(
    loader: _Loader,
    ws: Workspace,
    stream: PostStream,
    cfg: ResolvedConfig,
    perms: Permissions,
    policies: Policies,
    rng: random.Random,
    new_id: Callable[[], str],
) -> None:
    """COPY every table but ``posts`` (order matters only for the ``rng`` draws)."""
    loader.load("fileinfo", FILE_COLUMNS, stream.file_lines)
    loader.load("reactions", REACTION_COLUMNS, stream.reaction_lines)
    loader.load("threads", THREAD_COLUMNS, stream.thread_lines())
    loader.load("threadmemberships", THREAD_MEMBER_COLUMNS, stream.thread_member_lines())
    loader.load("users", USER_COLUMNS, user_lines(ws, rng))
    loader.load("bots", BOT_COLUMNS, bot_lines(ws))
    loader.load("teams", TEAM_COLUMNS, team_lines(ws, rng))
    loader.load("teammembers", TEAM_MEMBER_COLUMNS, team_member_lines(ws))
    loader.load("channels", CHANNEL_COLUMNS, channel_lines(ws))
    loader.load("channelmembers", CHANNEL_MEMBER_COLUMNS, channel_member_lines(ws, rng))
    loader.load("channelmemberhistory", HISTORY_COLUMNS, history_lines(ws))
    loader.load("emoji", EMOJI_COLUMNS, emoji_lines(ws))
    loader.load("roles", ROLE_COLUMNS, perms.role_lines)
    loader.load("schemes", SCHEME_COLUMNS, perms.scheme_lines)
    loader.load("preferences", PREFERENCE_COLUMNS, list(preference_lines(ws, rng)) + stream.flag_lines)
    loader.load("retentionpolicies", POLICY_COLUMNS, policies.policy_lines)
    loader.load("retentionpoliciesteams", POLICY_TEAM_COLUMNS, policies.team_lines)
    loader.load("retentionpolicieschannels", POLICY_CHANNEL_COLUMNS, policies.channel_lines)
    loader.load("systems", SYSTEM_COLUMNS, system_lines(ws, cfg.marker(), new_id()))


def generate(conn: psycopg.Connection, config: SynthConfig | None = None) -> SynthSummary:
    """Generate a workspace per ``config`` into the empty database of ``conn`` and commit it.

    Creates the tables if needed, COPYs every table, builds the indexes, runs ANALYZE and writes
    the blobs under ``config.file_root``. Returns counts, notable ids and timings.
    """
    cfg = (config or SynthConfig()).resolve()
    started = time.perf_counter()
    with conn.transaction():
        summary = _generate(conn, cfg, started)
    if not conn.autocommit:
        conn.commit()
    summary.timings["total"] = round(time.perf_counter() - started, 3)
    return summary


def _generate(conn: psycopg.Connection, cfg: ResolvedConfig, started: float) -> SynthSummary:
    timings: dict[str, float] = {}

    def lap(name: str, since: float) -> float:
        now = time.perf_counter()
        timings[name] = round(now - since, 3)
        return now

    create_mattermost_tables(conn)
    _ensure_empty(conn)
    rng = random.Random(cfg.seed)
    new_id = id_source(rng)
    ws = build_workspace(cfg, rng, new_id)
    system_posts = system_post_count(ws)
    if system_posts > cfg.posts - MIN_CONTENT_POSTS:
        raise SynthConfigError(
            f"posts must be at least {system_posts + MIN_CONTENT_POSTS} for {cfg.users} users and "
            f"{cfg.teams} teams ({system_posts} join/leave posts), got {cfg.posts}; lower users or teams"
        )
    perms = build_permissions(new_id, ws.start)
    scheme_handles = _apply_schemes(ws, perms.team_scheme_id, perms.channel_scheme_id)
    policies = build_policies(ws, new_id)
    pool = MessagePool(rng, [u.username for u in ws.humans])
    stream = PostStream(ws, cfg, rng, new_id, pool)
    mark = lap("workspace", started)

    loader = _Loader(conn)
    copy_chunks(conn, "posts", POST_COLUMNS, stream.chunks())
    loader.counts["posts"] = cfg.posts - stream.remaining
    mark = lap("posts", mark)

    missing = stream.missing_blobs(cfg.missing_files)
    missing_set = set(missing)
    writer = None
    if cfg.file_root is not None:
        tasks = [b for i, b in enumerate(stream.blobs) if i not in missing_set]
        writer = BlobWriter(cfg.file_root, tasks, _raw_blobs(ws)).start()

    try:
        _load_tables(loader, ws, stream, cfg, perms, policies, rng, new_id)
        mark = lap("other_tables", mark)
        conn.execute(sql.SQL("SET LOCAL maintenance_work_mem = {}").format(sql.Literal(INDEX_MEMORY)))
        create_mattermost_indexes(conn)
        mark = lap("indexes", mark)
        conn.execute("ANALYZE")
        mark = lap("analyze", mark)
        written = writer.join() if writer is not None else 0
        lap("blobs_wait", mark)
    except BaseException:
        if writer is not None:
            writer.cancel()
        raise

    handles = dict(ws.handles)
    handles.update(scheme_handles)
    handles.update({f"retention_{k}_policy_id": v for k, v in policies.ids.items()})
    kinds = dict(sorted(stream.kinds.items()))
    kinds.update({f"rows_{k}": v for k, v in sorted(stream.rows.items())})
    return SynthSummary(
        seed=cfg.seed,
        start_ms=cfg.start_ms,
        end_ms=cfg.end_ms,
        file_root=cfg.file_root,
        counts=loader.counts,
        post_kinds=kinds,
        handles=handles,
        missing_file_ids=[stream.blob_file_ids[i] for i in missing],
        retention_policy_ids=list(policies.ids.values()),
        blobs_written=written,
        timings=timings,
    )
