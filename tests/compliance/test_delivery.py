"""Delivery of batch zips: staging, verify, publish, remove_stale and finish, on a folder and on S3.

Both destinations keep one contract (``mmgov.compliance.delivery``): a zip is staged under
``.mmgov-staging/<folder>/<run key>``, checked by size and SHA-256, published into the window's
folder (a retry after publishing finds it there), and only batch zips no run keeps are removed.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from mmgov.compliance.delivery import (
    STAGING_DIR,
    DeliveryError,
    LocalDestination,
    S3Destination,
    StagedFile,
    destination_from_settings,
    run_key,
)
from mmgov.settings import Settings

FOLDER = "20260101-20260102"
KEY = "manual__2026"


@pytest.fixture(params=["local", "s3"])
def dest(request, tmp_path):
    """The same delivery steps on a local folder and on the loopback S3 (moto server)."""
    if request.param == "local":
        return LocalDestination(tmp_path / "exports")
    endpoint = request.getfixturevalue("s3_endpoint")
    bucket = endpoint.new_bucket()
    settings = Settings.parse({"Mmgov": {"ExportDestination": f"s3://{bucket}/compliance"}})
    destination = destination_from_settings(settings, s3_client_override=endpoint.client())
    assert isinstance(destination, S3Destination)
    return destination


def _stage(dest, name: str, data: bytes) -> StagedFile:
    with dest.part_file(FOLDER, KEY, name) as part:
        part.write_bytes(data)
        return dest.stage(part, FOLDER, KEY, name)


def _read(dest, name: str) -> bytes:
    with dest.local_copy(FOLDER, KEY, name) as path:
        return Path(path).read_bytes()


class TestStaging:
    def test_stage_records_size_and_sha256(self, dest):
        dest.begin(FOLDER, KEY)
        staged = _stage(dest, "batch001-1-2.zip", b"zip bytes")
        assert staged == StagedFile("batch001-1-2.zip", 9, hashlib.sha256(b"zip bytes").hexdigest())
        assert dest.verify(FOLDER, KEY, staged) is None
        assert _read(dest, staged.zip_name) == b"zip bytes"
        assert dest.list_folder(FOLDER) == []  # staged, not yet published

    def test_begin_drops_what_an_earlier_try_staged(self, dest):
        dest.begin(FOLDER, KEY)
        staged = _stage(dest, "batch001-1-2.zip", b"first try")
        dest.begin(FOLDER, KEY)
        assert (
            dest.verify(FOLDER, KEY, staged)
            == f"batch001-1-2.zip: not found in staging nor in {dest.describe(FOLDER)}"
        )

    def test_verify_names_a_size_or_digest_mismatch(self, dest):
        dest.begin(FOLDER, KEY)
        staged = _stage(dest, "batch001-1-2.zip", b"abc")
        assert "size 3, expected 4" in dest.verify(FOLDER, KEY, StagedFile(staged.zip_name, 4, staged.sha256))
        wrong = StagedFile(staged.zip_name, 3, hashlib.sha256(b"xyz").hexdigest())
        assert "SHA-256" in dest.verify(FOLDER, KEY, wrong)


class TestPublish:
    def test_publish_then_finish_leaves_only_the_zips(self, dest):
        dest.begin(FOLDER, KEY)
        staged = [_stage(dest, f"batch00{i}-{i}-{i + 1}.zip", f"zip {i}".encode()) for i in (1, 2)]
        dest.publish(FOLDER, KEY, staged)
        dest.finish(FOLDER, KEY)
        assert dest.list_folder(FOLDER) == ["batch001-1-2.zip", "batch002-2-3.zip"]
        assert [_read(dest, s.zip_name) for s in staged] == [b"zip 1", b"zip 2"]
        assert all(dest.verify(FOLDER, KEY, s) is None for s in staged)  # found published
        assert dest.list_folder(STAGING_DIR) == []

    def test_a_retried_publish_finds_what_the_first_try_published(self, dest):
        dest.begin(FOLDER, KEY)
        staged = [_stage(dest, "batch001-1-2.zip", b"zip")]
        dest.publish(FOLDER, KEY, staged)
        dest.publish(FOLDER, KEY, staged)  # the staged copy is gone (local) or copied again (S3)
        assert dest.list_folder(FOLDER) == ["batch001-1-2.zip"]

    def test_a_batch_neither_staged_nor_published_fails(self, dest):
        dest.begin(FOLDER, KEY)
        lost = StagedFile("batch009-1-2.zip", 3, hashlib.sha256(b"abc").hexdigest())
        with pytest.raises(DeliveryError, match=r"staged batch batch009-1-2\.zip is missing"):
            dest.publish(FOLDER, KEY, [lost])


class TestRemoveStale:
    def test_only_batch_zips_no_run_keeps_are_removed(self, dest):
        dest.begin(FOLDER, KEY)
        names = ["batch001-1-2.zip", "batch002-2-3.zip", "batch003-3-4.zip.age", "notes.txt", "batch1.zip"]
        dest.publish(FOLDER, KEY, [_stage(dest, n, n.encode()) for n in names])
        removed = dest.remove_stale(FOLDER, keep={"batch001-1-2.zip"})
        assert removed == ["batch002-2-3.zip", "batch003-3-4.zip.age"]
        assert dest.list_folder(FOLDER) == ["batch001-1-2.zip", "batch1.zip", "notes.txt"]


def test_local_destination_that_cannot_be_written(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(DeliveryError, match="is not writable"):
        LocalDestination(blocker).begin(FOLDER, KEY)


@pytest.mark.parametrize(
    ("run_id", "key"),
    [
        ("scheduled__2026-01-01T00:00:00+00:00", "scheduled__2026-01-01T00_00_00_00_00"),
        ("manual/../x", "manual_.._x"),
        ("...", "run"),
    ],
    ids=["scheduled", "slashes", "dots-only"],
)
def test_run_key_is_file_name_safe(run_id, key):
    assert run_key(run_id) == key


class TestFromSettings:
    def test_default_is_the_file_stores_export_folder(self, tmp_path):
        settings = Settings.parse({"FileSettings": {"DriverName": "local", "Directory": str(tmp_path)}})
        dest = destination_from_settings(settings)
        assert isinstance(dest, LocalDestination)
        assert dest.root == tmp_path / "export"  # Mattermost's model.ComplianceExportPath

    def test_s3_destination_needs_a_bucket(self):
        settings = Settings.parse({"Mmgov": {"ExportDestination": "s3:///prefix"}})
        with pytest.raises(DeliveryError, match="names no bucket"):
            destination_from_settings(settings)

    def test_s3_file_store_exports_under_its_prefix(self):
        settings = Settings.parse(
            {"FileSettings": {"DriverName": "amazons3", "AmazonS3Bucket": "b", "AmazonS3PathPrefix": "/mm/"}}
        )
        dest = destination_from_settings(settings, s3_client_override=object())
        assert dest.describe(FOLDER) == f"s3://b/mm/export/{FOLDER}"


def test_run_key():
    assert run_key("scheduled__2026-01-02T01:00:00+00:00") == "scheduled__2026-01-02T01_00_00_00_00"
