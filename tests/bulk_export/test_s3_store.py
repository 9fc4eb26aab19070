"""Attachments read from an S3 file store (moto on loopback), the ``amazons3`` driver of FileSettings."""

from __future__ import annotations

from mmgov.file_store import S3FileStore
from mmgov_dev.synth.files import PROFILE_PNGS
from tests.bulk_export.workspace import export_once


def test_export_reads_files_from_s3(edge_workspace, s3_endpoint, s3_bucket, tmp_path):
    client = s3_endpoint.client()
    for path in edge_workspace.store.rglob("*"):
        if path.is_file():
            key = "mm/" + str(path.relative_to(edge_workspace.store))
            client.put_object(Bucket=s3_bucket, Key=key, Body=path.read_bytes())
    store = S3FileStore(s3_bucket, "mm", client=client)
    export = export_once(edge_workspace.dsn, tmp_path / "out", store)
    assert (
        export.members["data/20260101/teams/alpha/channels/town/users/alice/f1/notes.txt"] == b"release notes"
    )
    alice = edge_workspace.id("user:alice")
    assert export.members[f"data/users/{alice}/profile.png"] == PROFILE_PNGS[0]
    missing = [w for w in export.warnings if "not found in the S3 file store" in w]
    assert len(missing) == 3  # bob's picture, the gone attachment, the emoji without image
    assert any("'..' refused" in w for w in export.warnings)
