"""A file store root that does not exist or cannot be read fails at once, naming the key (mmgov.file_store_root)."""

from __future__ import annotations

import pytest

from mmgov.file_store_root import FileStoreUnavailable, check_file_store_root
from mmgov.outcome import is_deterministic
from mmgov.settings import FileSettings


def test_local_root_must_exist_and_be_a_folder(tmp_path):
    assert check_file_store_root(FileSettings(Directory=str(tmp_path))) == str(tmp_path)
    with pytest.raises(
        FileStoreUnavailable, match=r"FileSettings\.Directory '.*/nope' does not exist"
    ) as exc:
        check_file_store_root(FileSettings(Directory=str(tmp_path / "nope")))
    assert is_deterministic(exc.value)
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileStoreUnavailable, match="is not a folder"):
        check_file_store_root(FileSettings(Directory=str(tmp_path / "file")))


def test_s3_bucket_must_be_readable(s3_endpoint, s3_bucket):
    client = s3_endpoint.client()
    ok = FileSettings(DriverName="amazons3", AmazonS3Bucket=s3_bucket, AmazonS3PathPrefix="mm")
    assert check_file_store_root(ok, s3_client=client) == f"s3://{s3_bucket}/mm"
    missing = FileSettings(DriverName="amazons3", AmazonS3Bucket="no-such-bucket")
    with pytest.raises(
        FileStoreUnavailable, match=r"FileSettings\.AmazonS3Bucket 'no-such-bucket' cannot be read"
    ) as exc:
        check_file_store_root(missing, s3_client=client)
    assert is_deterministic(exc.value)  # 404: for good
