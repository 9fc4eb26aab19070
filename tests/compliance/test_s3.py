"""S3 on loopback (moto server): attachments read from an S3 file store, exports delivered to S3."""

from __future__ import annotations

import io
import zipfile

from mmgov.compliance.delivery import STAGING_DIR, S3Destination, destination_from_settings
from mmgov.compliance.export_request import ExportRequest
from mmgov.compliance.export_window import ExportWindow
from mmgov.compliance.formats import get_format
from mmgov.compliance.publishing import deliver
from mmgov.compliance.staging import check_staged, stage_export
from mmgov.compliance.tasks import export_window_to_destination
from mmgov.file_store import file_store_from_settings
from mmgov.settings import Settings
from tests.compliance.builders import Workspace

T0 = 1_767_225_600_000
START, END = T0, T0 + 100_000


def _s3_settings(bucket: str, prefix: str = "mm", export_dest: str = "") -> Settings:
    return Settings.parse(
        {
            "FileSettings": {
                "DriverName": "amazons3",
                "AmazonS3Bucket": bucket,
                "AmazonS3PathPrefix": prefix,
                "AmazonS3SSL": False,
            },
            "MessageExportSettings": {"EnableExport": True, "ExportFormat": "csv", "BatchSize": 2},
            "Mmgov": {"ExportDestination": export_dest},
        }
    )


def _seed(mm_conn, client, bucket: str, prefix: str = "mm") -> dict[str, str]:
    ws = Workspace(mm_conn)  # files go to S3 below, not to a local folder
    team = ws.team("acme")
    chan = ws.channel("town", team=team)
    alice = ws.user("alice")
    ws.history(chan, alice, T0 - 10)
    ids = {}
    for i in range(3):
        pid = ws.post(f"p{i}", channel=chan, user=alice, create=T0 + i)
        path = f"20260105/teams/{team}/channels/{chan}/users/{alice}/f{i}/doc{i}.txt"
        ids[f"f{i}"] = ws.file(
            f"f{i}", post=pid, user=alice, channel=chan, name=f"doc{i}.txt", path=path, content=None
        )
        if i != 1:  # f1 is missing from the store
            client.put_object(Bucket=bucket, Key=f"{prefix}/{path}", Body=f"content {i}".encode())
        ids[f"p{i}"] = pid
    return ids


def test_s3_file_store_and_s3_delivery(mm_conn, s3_conn, s3_bucket):
    client = s3_conn.client()
    ids = _seed(mm_conn, client, s3_bucket)
    settings = _s3_settings(s3_bucket)
    dest = destination_from_settings(settings)
    assert isinstance(dest, S3Destination)
    assert dest.describe() == f"s3://{s3_bucket}/mm/export"
    summary = export_window_to_destination(mm_conn, ExportWindow(START, END), settings, export_format="csv")
    folder = ExportWindow(START, END).folder_name
    assert summary["location"] == f"s3://{s3_bucket}/mm/export/{folder}"
    keys = sorted(o["Key"] for o in client.list_objects_v2(Bucket=s3_bucket, Prefix="mm/export/")["Contents"])
    assert keys == [f"mm/export/{folder}/{name}" for name in [*summary["batches"], "manifest.json"]]
    assert len(keys) == 3  # BatchSize 2, 3 posts: two zips and the custody manifest
    assert summary["files"] == 2
    assert summary["files_missing"] == 1
    assert summary["status"] == "warning"
    body = client.get_object(Bucket=s3_bucket, Key=keys[0])["Body"].read()
    with zipfile.ZipFile(io.BytesIO(body)) as zf:
        assert zf.read(f"files/{ids['p0']}/{ids['f0']}-doc0.txt") == b"content 0"
        assert "Post: " + ids["p1"] in zf.read("warning.txt").decode()
    assert not client.list_objects_v2(Bucket=s3_bucket, Prefix=f"mm/export/{STAGING_DIR}").get("Contents")


def test_s3_delivery_is_atomic_and_rerun_replaces(mm_conn, s3_conn, s3_bucket):
    client = s3_conn.client()
    _seed(mm_conn, client, s3_bucket)
    settings = _s3_settings(s3_bucket, export_dest=f"s3://{s3_bucket}/archive/compliance")
    window = ExportWindow(START, END)
    dest = destination_from_settings(settings)
    fmt = get_format("csv", settings)
    request = ExportRequest(
        window=window,
        source="params",
        export_format="csv",
        batch_size=1,
        destination=dest.describe(),
        run_folder=window.folder_name,
        run_key="r1",
    )
    manifest = stage_export(mm_conn, request, fmt, file_store_from_settings(settings.FileSettings), dest)
    check_staged(request, manifest, dest)
    final_prefix = f"archive/compliance/{window.folder_name}/"
    # Staged but not delivered (the run stopped here): no object under a final name.
    assert not client.list_objects_v2(Bucket=s3_bucket, Prefix=final_prefix).get("Contents")
    deliver(request, manifest, fmt, dest)
    first = sorted(
        o["Key"] for o in client.list_objects_v2(Bucket=s3_bucket, Prefix=final_prefix)["Contents"]
    )
    assert len(first) == 4  # three zips and the custody manifest
    bodies = {k: client.get_object(Bucket=s3_bucket, Key=k)["Body"].read() for k in first}
    # Re-run with bigger batches: same window, fewer files; stale batch objects are removed.
    summary = export_window_to_destination(
        mm_conn, window, settings, export_format="csv", batch_size=100, run_id="r2"
    )
    second = sorted(
        o["Key"] for o in client.list_objects_v2(Bucket=s3_bucket, Prefix=final_prefix)["Contents"]
    )
    assert second == [final_prefix + summary["batches"][0], final_prefix + "manifest.json"]
    assert len(summary["removed_stale"]) == 3
    # And the same batching again gives byte-identical objects.
    export_window_to_destination(mm_conn, window, settings, export_format="csv", batch_size=1, run_id="r3")
    again = {k: client.get_object(Bucket=s3_bucket, Key=k)["Body"].read() for k in first}
    manifest_key = final_prefix + "manifest.json"  # its run id and time differ; the zips do not
    assert {k: v for k, v in again.items() if k != manifest_key} == {
        k: v for k, v in bodies.items() if k != manifest_key
    }
