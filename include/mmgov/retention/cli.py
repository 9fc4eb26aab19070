"""``python -m mmgov.retention``: manage policies and legal holds, preview a purge, restore a run.

The database is ``--dsn`` (a libpq URI), else the Airflow connection ``mattermost_db`` found as
Airflow finds it (``AIRFLOW_CONN_MATTERMOST_DB`` as a URI or JSON, read without loading Airflow; else
Airflow's secrets backends and metadata database). Settings come from ``--settings`` (JSON text or a
file), else ``AIRFLOW_VAR_MATTERMOST_SETTINGS``, else the Airflow variable, else Mattermost's
defaults; only the commands that need them read them. Users are given by id, username or e-mail,
teams by id or name, channels by id or ``team/channel``; runs by mmgov's id or the Airflow run id.
Every change is audited with the Airflow user behind ``--token``/``AIRFLOW_API_TOKEN`` (checked by
the api-server; changes need an admin, a restore an admin or ``Mmgov.GdprExportAdmins``), or for
scripts ``--actor NAME`` (audited as ``script:NAME``; no restore): :mod:`mmgov.actor`. Output is JSON;
every error is one line ``error: <CODE>: <message>`` on stderr (exit 2 for a refused request, 1 otherwise).

Examples::

    python -m mmgov.retention --dsn postgresql://mm@db/mattermost policies create --name "Sales 90d" \\
        --days 90 --team sales --channel sales/town-square
    python -m mmgov.retention policies patch <policy_id> --keep-forever
    python -m mmgov.retention holds create --name "Case 42" --user bob --from 2025-01-01 --to 2025-07-01
    python -m mmgov.retention purge preview
    AIRFLOW_API_TOKEN=$(curl -s -X POST localhost:8080/auth/token -H 'Content-Type: application/json' \\
        -d '{"username": "alice", "password": "..."}' | jq -r .access_token) \\
        python -m mmgov.retention restore manual__2026-01-02T03:04:05+00:00 --channel sales/town-square --yes
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import psycopg

from mmgov.actor import API_URL_ENV, TOKEN_ENV
from mmgov.db import cli_connection
from mmgov.errors import MmgovError
from mmgov.settings import ENV_NAME, Settings


def _settings(raw: str | None) -> Settings:
    if raw:
        path = Path(raw)
        return Settings.parse(path.read_text(encoding="utf-8") if not raw.lstrip().startswith("{") else raw)
    env = os.environ.get(ENV_NAME)
    if env is not None:
        return Settings.parse(env)
    try:
        from mmgov.settings import load_settings

        return load_settings(default=None)
    except MmgovError:
        raise
    except Exception:  # noqa: BLE001 - no Airflow configured: Mattermost's defaults
        return Settings()


class UsageError(MmgovError):
    """A command line argparse refuses (unknown option, missing argument, bad value)."""

    code = "MMGOV_USAGE"
    status = 400


class _Parser(argparse.ArgumentParser):
    """argparse whose errors are one ``error: MMGOV_USAGE: ...`` line (``--help`` still prints usage)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see --help)")


def parse_time_ms(value: str) -> int:
    """Epoch milliseconds, or an ISO-8601 date/datetime (UTC when no offset is given)."""
    if value.isdigit():
        return int(value)
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not epoch milliseconds or an ISO-8601 date: {value!r}") from exc
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return int(when.timestamp() * 1000)


def _ids(values: list[str] | None) -> list[str] | None:
    """``--team a --team b,c`` -> ``[a, b, c]``; ``None`` when the option was not given."""
    if values is None:
        return None
    return [v for item in values for v in item.split(",") if v]


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """The retention command line (also mountable as a subcommand of a larger CLI)."""
    p = parser or _Parser(prog="python -m mmgov.retention", description=__doc__.split("\n\n")[0])
    p.add_argument("--dsn", help="Mattermost database URI (default: the Airflow connection mattermost_db)")
    p.add_argument("--settings", help="mattermost_settings as JSON text or a JSON file")
    p.add_argument(
        "--token",
        help=f"an Airflow API token: changes are audited as its Airflow user (default: ${TOKEN_ENV})",
    )
    p.add_argument("--api-url", help=f"the Airflow api-server that checks --token (default: ${API_URL_ENV})")
    p.add_argument("--actor", metavar="NAME", help="for scripts only: audited as script:NAME (no restore)")
    groups = p.add_subparsers(dest="group", required=True)

    pol = groups.add_parser("policies", help="granular retention policies").add_subparsers(
        dest="cmd", required=True
    )
    x = pol.add_parser("list")
    x.add_argument("--page", type=int, default=0)
    x.add_argument("--per-page", type=int, default=60)
    pol.add_parser("get").add_argument("policy_id")
    x = pol.add_parser("create")
    x.add_argument("--name", required=True, help="display name (at most 64 characters)")
    dur = x.add_mutually_exclusive_group(required=True)
    dur.add_argument("--days", type=int, help="keep posts this many days")
    dur.add_argument(
        "--keep-forever", action="store_true", help="never delete (shields from the global setting)"
    )
    x.add_argument("--team", action="append", help="team name or id (repeat or comma-separate)")
    x.add_argument("--channel", action="append", help="team/channel or channel id (repeat or comma-separate)")
    x = pol.add_parser("patch", help="change fields; --teams/--channels replace the sets")
    x.add_argument("policy_id")
    x.add_argument("--name")
    dur = x.add_mutually_exclusive_group()
    dur.add_argument("--days", type=int)
    dur.add_argument("--keep-forever", action="store_true")
    x.add_argument("--teams", action="append", help="the policy's teams (replaces); '' for none")
    x.add_argument("--channels", action="append", help="the policy's channels (replaces); '' for none")
    for name in ("add", "remove"):
        x = pol.add_parser(name, help=f"{name} teams/channels")
        x.add_argument("policy_id")
        x.add_argument("--team", action="append")
        x.add_argument("--channel", action="append")
    x = pol.add_parser("delete", help="delete a policy and its assignments")
    x.add_argument("policy_id")
    x.add_argument("--yes", action="store_true", required=True, help="confirm")
    pol.add_parser("effective", help="the retention that applies to a channel").add_argument(
        "channel", help="team/channel or channel id"
    )

    holds = groups.add_parser("holds", help="legal holds").add_subparsers(dest="cmd", required=True)
    holds.add_parser("list").add_argument("--all", action="store_true", help="include released holds")
    x = holds.add_parser("create")
    x.add_argument("--name", required=True)
    target = x.add_mutually_exclusive_group(required=True)
    target.add_argument("--user", help="username, e-mail or user id")
    target.add_argument("--channel", help="team/channel or channel id")
    target.add_argument("--team", help="team name or id")
    x.add_argument(
        "--from", dest="start", type=parse_time_ms, help="only posts created at/after (ISO or epoch ms)"
    )
    x.add_argument("--to", dest="end", type=parse_time_ms, help="only posts created before (ISO or epoch ms)")
    x.add_argument("--reason", default="")
    holds.add_parser("get").add_argument("hold_id")
    holds.add_parser("release").add_argument("hold_id")

    purge = groups.add_parser("purge", help="purge runs").add_subparsers(dest="cmd", required=True)
    purge.add_parser("preview", help="what a purge would delete now (a dry run: nothing is deleted)")
    x = purge.add_parser("runs", help="recent runs")
    x.add_argument("--kind", choices=("purge", "removal"), default="purge")
    x.add_argument("--limit", type=int, default=20)
    purge.add_parser("show", help="one run").add_argument(
        "run_id", help="mmgov's run id or the Airflow run id"
    )

    x = groups.add_parser("restore", help="restore what a purge run deleted (within the grace period)")
    x.add_argument("run_id", help="mmgov's run id or the Airflow run id")
    x.add_argument("--channel", help="only this channel (team/channel or channel id)")
    x.add_argument("--yes", action="store_true", required=True, help="confirm")
    return p


# Commands that change something: audited with the acting Airflow user (or script), see mmgov.actor.
CHANGES = {("policies", cmd) for cmd in ("create", "patch", "add", "remove", "delete")} | {
    ("holds", "create"),
    ("holds", "release"),
    ("restore", None),
}


def acting(args: argparse.Namespace, settings: Callable[[], Settings]) -> str | None:
    """The audited name for a change (or the refusal); None for a command that only reads."""
    from mmgov import actor

    command = (args.group, getattr(args, "cmd", None))
    if command not in CHANGES:
        return None
    who = actor.resolve(args.token, args.actor, args.api_url)
    restore = settings() if args.group == "restore" else None
    return actor.require(who, what=" ".join(c for c in command if c), restore_settings=restore)


def run_command(
    args: argparse.Namespace,
    conn: psycopg.Connection,
    settings: Callable[[], Settings],
    actor: str | None = None,
) -> Any:
    """Execute the parsed command as ``actor`` (the audited name, :func:`acting`); returns what to print.

    ``settings()`` is read only when needed.
    """
    from mmgov import names
    from mmgov.retention import legal_hold as lh
    from mmgov.retention import retention_policy as rp
    from mmgov.retention.errors import InvalidChannel, InvalidHold, InvalidTeam

    def teams(values: list[str] | None) -> list[str] | None:
        refs = _ids(values)
        return None if refs is None else names.team_ids(conn, refs, InvalidTeam)

    def channels(values: list[str] | None) -> list[str] | None:
        refs = _ids(values)
        return None if refs is None else names.channel_ids(conn, refs, InvalidChannel)

    if args.group == "policies":
        if args.cmd == "list":
            items, total = rp.list_policies(conn, page=args.page, per_page=args.per_page)
            return {"policies": [p.to_dict() for p in items], "total_count": total}
        if args.cmd == "get":
            return rp.get_policy(conn, args.policy_id).to_dict()
        if args.cmd == "create":
            return rp.create_policy(
                conn,
                display_name=args.name,
                post_duration_days=None if args.keep_forever else args.days,
                team_ids=teams(args.team),
                channel_ids=channels(args.channel),
                actor=actor,
            ).to_dict()
        if args.cmd == "patch":
            changes: dict[str, Any] = {}
            if args.name is not None:
                changes["display_name"] = args.name
            if args.keep_forever:
                changes["post_duration_days"] = None
            elif args.days is not None:
                changes["post_duration_days"] = args.days
            if args.teams is not None:
                changes["team_ids"] = teams(args.teams)
            if args.channels is not None:
                changes["channel_ids"] = channels(args.channels)
            return rp.patch_policy(conn, args.policy_id, changes, actor=actor).to_dict()
        if args.cmd in ("add", "remove"):
            fn = rp.add_scopes if args.cmd == "add" else rp.remove_scopes
            return fn(
                conn,
                args.policy_id,
                team_ids=teams(args.team),
                channel_ids=channels(args.channel),
                actor=actor,
            ).to_dict()
        if args.cmd == "delete":
            return {"deleted": rp.delete_policy(conn, args.policy_id, actor=actor).to_dict()}
        if args.cmd == "effective":
            from mmgov.retention.effective_policy import effective_policy

            channel_id = names.channel_ids(conn, [args.channel], InvalidChannel)[0]
            found = effective_policy(conn, settings(), channel_id)
            if found is None:
                raise InvalidChannel(f"channel {args.channel} does not exist")
            return found.to_dict()
    if args.group == "holds":
        if args.cmd == "list":
            return [h.to_dict() for h in lh.list_holds(conn, include_released=args.all)]
        if args.cmd == "create":
            scope, ref = next((s, getattr(args, s)) for s in ("user", "channel", "team") if getattr(args, s))
            resolve = {"user": names.user_ids, "channel": names.channel_ids, "team": names.team_ids}[scope]
            return lh.create_hold(
                conn,
                name=args.name,
                scope=scope,
                target_id=resolve(conn, [ref], InvalidHold)[0],
                start_ms=args.start,
                end_ms=args.end,
                reason=args.reason,
                actor=actor,
            ).to_dict()
        if args.cmd == "get":
            return lh.get_hold(conn, args.hold_id).to_dict()
        if args.cmd == "release":
            return lh.release_hold(conn, args.hold_id, actor=actor).to_dict()
    if args.group == "purge":
        from mmgov.retention.runs import list_runs, resolve_run, shown

        if args.cmd == "preview":
            from mmgov.retention.preview import preview_purge

            summary = preview_purge(conn, settings(), dry_run=True)
            return {k: v for k, v in summary.items() if k != "markdown"}
        if args.cmd == "runs":
            return list_runs(conn, kind=args.kind, limit=args.limit)
        if args.cmd == "show":
            return shown(resolve_run(conn, args.run_id))
    if args.group == "restore":
        from mmgov.retention.restore import restore_run

        channel = None if args.channel is None else names.channel_ids(conn, [args.channel], InvalidChannel)[0]
        return restore_run(conn, settings(), args.run_id, channel_id=channel, actor=actor)
    raise UsageError(f"unknown command {args.group} {getattr(args, 'cmd', '')}")  # pragma: no cover


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; exit status 0 on success, 2 for a refused request (bad input, not found, conflict).

    Every error is one line on stderr, ``error: <CODE>: <message>``; never a traceback.
    """
    try:
        args = build_parser().parse_args(argv)
        loaded: list[Settings] = []

        def settings() -> Settings:
            if not loaded:
                loaded.append(_settings(args.settings))
            return loaded[0]

        if args.settings:
            settings()  # a bad --settings fails before anything is done
        actor = acting(args, settings)
        with cli_connection(args.dsn) as conn:
            from mmgov.state import ensure_mmgov_schema

            if args.group == "restore":
                import mmgov.custody.attestation  # noqa: F401 - registers custody.sql (a restore re-attests)
            ensure_mmgov_schema(conn)
            result = run_command(args, conn, settings, actor)
    except MmgovError as exc:
        print(f"error: {exc.code}: {_one_line(str(exc))}", file=sys.stderr)
        return 2 if exc.status < 500 else 1
    except OSError as exc:  # --settings FILE unreadable
        print(f"error: MMGOV_INVALID_SETTING: {_one_line(str(exc))}", file=sys.stderr)
        return 2
    except psycopg.Error as exc:
        print(f"error: MMGOV_DATABASE_ERROR: {type(exc).__name__}: {_one_line(str(exc))}", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - the contract is one line, never a traceback
        print(f"error: MMGOV_INTERNAL: {type(exc).__name__}: {_one_line(str(exc))}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2, default=str))
    return 0


def _one_line(text: str) -> str:
    return " ".join(text.split())
