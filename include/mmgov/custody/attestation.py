"""Retention attestations: what each purge run was allowed to delete, did delete, spared and gave back.

Every purge run that reports (dry runs and rejected runs included) gets a signed attestation: the
policy snapshot with its cutoffs, the approval and who gave it, and per policy, team and channel the
messages and files eligible (expired under the policy), planned, deleted, spared by a legal hold, by
``PreservePinnedPosts`` and by the compliance export guard; each restore of the run appends a new
version with the restored counts. Every version is kept in ``mmgov.retention_attestations`` (the
exact signed bytes) and written under the export root as
``retention-attestations/YYYY/MM/<run>.v<N>.json`` (+ ``.json.sig``) and ``.csv`` (one row per
channel; the JSON lists the CSV's SHA-256). :func:`write_rollup` files a month: one signed JSON and
CSV over the latest version of every run of the month. (About 400 lines: a run's attestation and
the month's rollup share their rows, CSV and signed writing, so they stay together.)
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import logging
from typing import Any

import psycopg

from mmgov import audit
from mmgov.custody import manifest
from mmgov.custody.signing import SIGNATURE_SUFFIX, Signer
from mmgov.custody.store import ArtifactStore, join
from mmgov.state import ensure_mmgov_schema, register_ddl

register_ddl("custody.sql")

log = logging.getLogger(__name__)
FOLDER = "retention-attestations"
COUNTS = (
    "eligible_messages",
    "planned_messages",
    "deleted_messages",
    "spared_held",
    "spared_pinned",
    "spared_not_exported",
    "eligible_files",
    "planned_files",
    "deleted_files",
    "files_spared",
    "restored_messages",
    "restored_files",
)
CSV_COLUMNS = ("run_id", "version", "status", "channel_id", "team_id", "channel_type", "policy_id", "source")
CSV_COLUMNS += ("post_cutoff_ms", "keep_forever", *COUNTS)


def month_folder(created_ms: int) -> str:
    when = dt.datetime.fromtimestamp(created_ms / 1000, tz=dt.UTC)
    return join(FOLDER, f"{when:%Y}", f"{when:%m}")


def _status(run: dict[str, Any]) -> str:
    if run["dry_run"]:
        return "dry_run"
    if run["status"] == "completed":
        return "completed"
    return str(run["approval"] or run["status"])


def _channels(conn: psycopg.Connection, run_id: str) -> list[dict[str, Any]]:
    """Per channel of the plan with anything to say: the preview's counts and what was deleted."""
    deleted = {
        (cid, kind): int(n)
        for cid, kind, n in conn.execute(
            "SELECT channelid, kind, count(*) FROM mmgov.purge_log WHERE run_id = %s AND kind IN ('post', 'file')"
            " GROUP BY channelid, kind",
            (run_id,),
        )
    }
    out = []
    for row in conn.execute(
        """
        SELECT channelid, teamid, channel_type, policy_id, source, post_cutoff_ms, keep_forever,
               posts_to_delete, files_to_delete, spared_held, spared_pinned, spared_unexported, files_spared
        FROM mmgov.purge_channels WHERE run_id = %s ORDER BY channelid
        """,
        (run_id,),
    ):
        cid, tid, ctype, pid, source, cutoff, forever, posts, files, held, pinned, unexported, fspared = row
        ch = {
            "channel_id": cid,
            "team_id": tid,
            "channel_type": ctype,
            "policy_id": pid,
            "source": source,
            "post_cutoff_ms": cutoff,
            "keep_forever": forever,
            "eligible_messages": int(posts + held + pinned + unexported),
            "planned_messages": int(posts),
            "deleted_messages": deleted.get((cid, "post"), 0),
            "spared_held": int(held),
            "spared_pinned": int(pinned),
            "spared_not_exported": int(unexported),
            "eligible_files": int(files + fspared),
            "planned_files": int(files),
            "deleted_files": deleted.get((cid, "file"), 0),
            "files_spared": int(fspared),
            "restored_messages": 0,
            "restored_files": 0,
        }
        if any(ch[k] for k in COUNTS):
            out.append(ch)
    return out


def _rollup(rows: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    groups: dict[Any, dict[str, Any]] = {}
    for ch in rows:
        g = groups.setdefault(ch[key], {key: ch[key], "channels": 0, **dict.fromkeys(COUNTS, 0)})
        g["channels"] += 1
        for k in COUNTS:
            g[k] += ch[k]
    return sorted(groups.values(), key=lambda g: str(g[key] or ""))


def _totals(channels: list[dict[str, Any]]) -> dict[str, int]:
    return {k: sum(ch[k] for ch in channels) for k in COUNTS}


def _csv(rows: list[dict[str, Any]]) -> bytes:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue().encode()


def _previous(conn: psycopg.Connection, run_id: str) -> tuple[int, bytes | None, str | None]:
    row = conn.execute(
        "SELECT version, body, sha256 FROM mmgov.retention_attestations WHERE run_id = %s ORDER BY version DESC LIMIT 1",
        (run_id,),
    ).fetchone()
    return (int(row[0]), bytes(row[1]), row[2]) if row else (0, None, None)


def _write(
    conn: psycopg.Connection,
    store: ArtifactStore,
    signer: Signer | None,
    run: dict[str, Any],
    body: dict[str, Any],
    reason: str,
) -> dict[str, Any]:
    """CSV, then signature, then JSON under the export root; then the row (the record of record)."""
    run_id, version = run["id"], body["version"]
    folder = month_folder(int(run["created_at"]))
    base = f"{run_id}.v{version}"
    rows = [{"run_id": run_id, "version": version, "status": body["status"], **ch} for ch in body["channels"]]
    csv_bytes = _csv(rows)
    store.put_atomic(join(folder, base + ".csv"), csv_bytes)
    files = [{"name": base + ".csv", "size": len(csv_bytes), "sha256": hashlib.sha256(csv_bytes).hexdigest()}]
    doc = manifest.new_document("retention_attestation", {"attestation": body}, files=files, signer=signer)
    ref = manifest.write(store, folder, doc, signer, name=base + ".json")
    data = store.read_bytes(join(folder, base + ".json"))
    signature = store.read_bytes(join(folder, base + ".json" + SIGNATURE_SUFFIX)) if signer else None
    with conn.transaction():
        conn.execute(
            "INSERT INTO mmgov.retention_attestations (run_id, version, reason, body, sha256, signature, key_id,"
            " location) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (run_id, version, reason, data, ref.sha256, signature, ref.key_id, ref.location),
        )
        audit.record(
            conn,
            "retention.attestation_written",
            {"run_id": run_id, "version": version, "reason": reason, **ref.as_dict()},
        )
    log.info("retention attestation %s v%d (%s) written to %s", run_id, version, reason, ref.location)
    return {"version": version, **ref.as_dict()}


def attest_run(
    conn: psycopg.Connection, run_id: str, store: ArtifactStore, signer: Signer | None
) -> dict[str, Any]:
    """Version 1 of run ``run_id``'s attestation (after its report); an existing one is returned as is."""
    from mmgov.retention.runs import get_run

    version, _body, _sha = _previous(conn, run_id)
    if version:
        row = conn.execute(
            "SELECT location, sha256, key_id FROM mmgov.retention_attestations WHERE run_id = %s AND version = 1",
            (run_id,),
        ).fetchone()
        return {
            "version": 1,
            "manifest": row[0],
            "manifest_sha256": row[1],
            "signed": row[2] is not None,
            "signing_key_id": row[2],
        }
    run = get_run(conn, run_id)
    channels = _channels(conn, run_id)
    summary = run["summary"] or {}
    body = {
        "run_id": run_id,
        "version": 1,
        "previous_sha256": None,
        "dag_run_id": run["dag_run_id"],
        "status": _status(run),
        "dry_run": run["dry_run"],
        "previewed_at_ms": run["created_at"],
        "policy_evaluated_at_ms": run["now_ms"],
        "file_cutoff_ms": run["file_cutoff_ms"],
        "policy_snapshot": run["plan_doc"],
        "plan_hash": run["plan_hash"],
        "fingerprint": run["fingerprint"],
        "export_guard": summary.get("export_guard")
        or {"state": run["export_guard"], "watermark_ms": run["export_watermark_ms"]},
        "approval": {
            "mode": run["approval_mode"],
            "needs_approval": run["needs_approval"],
            "reasons": run["approval_reasons"],
            "decision": run["approval"],
            "by": run["approved_by"],
            "at_ms": run["approved_at"],
        },
        "deletion": {
            "started_at_ms": run["started_at"],
            "finished_at_ms": run["finished_at"],
            "batches": run["batches"],
            "history_rows": int(run["history_rows"]),
        },
        "totals": _totals(channels),
        "by_policy": _rollup(channels, "policy_id"),
        "by_team": _rollup(channels, "team_id"),
        "channels": channels,
        "restorations": [],
    }
    return _write(conn, store, signer, run, body, "report")


def attest_restore(
    conn: psycopg.Connection,
    run_id: str,
    store: ArtifactStore,
    signer: Signer | None,
    *,
    result: dict[str, Any],
    actor: str,
    logged_before: dict[tuple[str, str], int],
) -> dict[str, Any] | None:
    """A new version of run ``run_id``'s attestation with this restore added; None if it has none yet."""
    import json

    from mmgov.retention.runs import get_run

    version, body_bytes, previous_sha = _previous(conn, run_id)
    if not version or body_bytes is None:
        return None
    body = json.loads(body_bytes)["attestation"]
    after = purge_log_by_channel(conn, run_id)
    for ch in body["channels"]:
        for kind, key in (("post", "restored_messages"), ("file", "restored_files")):
            gone = logged_before.get((ch["channel_id"], kind), 0) - after.get((ch["channel_id"], kind), 0)
            ch[key] += max(gone, 0)
    body.update(
        version=version + 1,
        previous_sha256=previous_sha,
        totals=_totals(body["channels"]),
        by_policy=_rollup(body["channels"], "policy_id"),
        by_team=_rollup(body["channels"], "team_id"),
    )
    body["restorations"].append(
        {
            "at": manifest.utc_now(),
            "actor": actor,
            "channel_id": result.get("channel_id"),
            "messages_restored": result["messages_restored"],
            "files_restored": result["files_restored"],
            "skipped_changed": result.get("skipped_changed", 0),
        }
    )
    return _write(conn, store, signer, get_run(conn, run_id), body, "restore")


def purge_log_by_channel(conn: psycopg.Connection, run_id: str) -> dict[tuple[str, str], int]:
    """Rows a run still holds soft-deleted, per (channel, kind): what a restore takes back."""
    return {
        (cid, kind): int(n)
        for cid, kind, n in conn.execute(
            "SELECT channelid, kind, count(*) FROM mmgov.purge_log WHERE run_id = %s AND kind IN ('post', 'file')"
            " GROUP BY channelid, kind",
            (run_id,),
        )
    }


def write_rollup(
    conn: psycopg.Connection, month: str, store: ArtifactStore, signer: Signer | None
) -> dict[str, Any]:
    """``retention-attestations/YYYY/MM/rollup-YYYY-MM.json`` (+ .sig, .csv) over the month's runs
    (by preview time, UTC), each at its latest version; it lists and hashes those attestations."""
    import json

    try:
        start = dt.datetime.strptime(month, "%Y-%m").replace(tzinfo=dt.UTC)
    except ValueError:
        from mmgov.errors import SettingsError

        raise SettingsError(f"month must be YYYY-MM, got {month!r}") from None
    end = (start + dt.timedelta(days=32)).replace(day=1)
    rows = conn.execute(
        """
        SELECT DISTINCT ON (a.run_id) a.run_id, a.version, a.body, a.sha256, a.location, a.key_id
        FROM mmgov.retention_attestations a JOIN mmgov.purge_runs r ON r.id = a.run_id
        WHERE r.created_at >= %s AND r.created_at < %s
        ORDER BY a.run_id, a.version DESC
        """,
        (int(start.timestamp() * 1000), int(end.timestamp() * 1000)),
    ).fetchall()
    folder = join(FOLDER, f"{start:%Y}", f"{start:%m}")
    runs, files, csv_rows = [], [], []
    for run_id, version, body_bytes, sha, _location, key_id in rows:
        att = json.loads(bytes(body_bytes))["attestation"]
        name = f"{run_id}.v{version}.json"
        files.append({"name": name, "size": len(bytes(body_bytes)), "sha256": sha})
        runs.append(
            {
                "run_id": run_id,
                "version": version,
                "status": att["status"],
                "previewed_at_ms": att["previewed_at_ms"],
                "approved_by": att["approval"]["by"],
                "signing_key_id": key_id,
                "totals": att["totals"],
            }
        )
        csv_rows.append({"run_id": run_id, "version": version, "status": att["status"], **att["totals"]})
    runs.sort(key=lambda r: (r["previewed_at_ms"], r["run_id"]))
    csv_rows.sort(key=lambda r: r["run_id"])
    name = f"rollup-{start:%Y-%m}"
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=("run_id", "version", "status", *COUNTS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(csv_rows)
    csv_bytes = buf.getvalue().encode()
    store.put_atomic(join(folder, name + ".csv"), csv_bytes)
    files.append(
        {"name": name + ".csv", "size": len(csv_bytes), "sha256": hashlib.sha256(csv_bytes).hexdigest()}
    )
    body = {
        "rollup": {
            "month": f"{start:%Y-%m}",
            "runs": runs,
            "totals": {k: sum(r["totals"][k] for r in runs) for k in COUNTS},
        }
    }
    doc = manifest.new_document("retention_attestation_rollup", body, files=files, signer=signer)
    ref = manifest.write(store, folder, doc, signer, name=name + ".json")
    audit.record(
        conn, "retention.attestation_rollup", {"month": f"{start:%Y-%m}", "runs": len(runs), **ref.as_dict()}
    )
    return {"month": f"{start:%Y-%m}", "runs": len(runs), **ref.as_dict()}


def export_root(settings: Any) -> ArtifactStore:
    """The export root of the settings (``Mmgov.ExportDestination`` or the file store's ``export/``)."""
    from mmgov.compliance.delivery import destination_from_settings
    from mmgov.custody.store import store_of

    return store_of(destination_from_settings(settings))


def attest_reported_run(conn: psycopg.Connection, settings: Any, run_id: str) -> dict[str, Any]:
    """Task hook (``retention_purge`` report): version 1 of the run's attestation, signed if a key is set."""
    from mmgov.custody.signing import load_signer

    ensure_mmgov_schema(conn)  # custody.sql: the purge's preview created mmgov's schema without it
    return attest_run(conn, run_id, export_root(settings), load_signer())


def restore_hook(conn: psycopg.Connection, settings: Any, run_id: str) -> Any:
    """For :func:`mmgov.retention.restore.restore_run`: call before the restore; the returned function,
    called with the restore's result and actor, appends the attestation's new version. A failure to
    write it never undoes the restore: it is reported in the result (and the audit trail) instead."""
    ensure_mmgov_schema(conn)  # custody.sql, as in attest_reported_run
    before = purge_log_by_channel(conn, run_id)

    def after(result: dict[str, Any], actor: str) -> dict[str, Any] | None:
        from mmgov.custody.signing import load_signer

        if not _previous(conn, run_id)[0]:
            return None  # a run that never reported through the DAG has no attestation to extend
        try:
            return attest_restore(
                conn,
                run_id,
                export_root(settings),
                load_signer(),
                result=result,
                actor=actor,
                logged_before=before,
            )
        except Exception as exc:  # the restore is done: say the attestation is missing
            log.exception("retention restore %s: the attestation could not be written", run_id)
            return {"error": f"{type(exc).__name__}: {exc}"}

    return after
