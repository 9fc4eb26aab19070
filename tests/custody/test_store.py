"""mmgov.custody.store: a local folder and an S3 prefix (moto on loopback) seen the same way, and no
name from a manifest or the database escaping the store's root.

The custody commands that use the stores end to end are tests/custody/test_exports.py and test_expiry.py.
"""

from __future__ import annotations

import hashlib
import io

import pytest

from mmgov.custody.store import (
    LocalStore,
    S3Store,
    StoreError,
    hash_stream,
    join,
    safe_name,
    store_for_location,
)


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path) -> LocalStore | S3Store:
    if request.param == "local":
        return LocalStore(tmp_path / "root")
    endpoint = request.getfixturevalue("s3_endpoint")
    return S3Store(request.getfixturevalue("s3_bucket"), "exports/", endpoint.client())


@pytest.mark.parametrize(
    ("name", "safe"),
    [("", ""), (".", ""), ("a/./b//c.zip", "a/b/c.zip"), ("a/../b.zip", "b.zip"), ("x..y/z", "x..y/z")],
)
def test_safe_names_are_normalised(name, safe):
    assert safe_name(name) == safe


@pytest.mark.parametrize("name", ["/etc/passwd", "..", "../x", "a/../../x", "a\\b", "a\x00b"])
def test_names_that_could_escape_the_root_are_refused(name, store):
    with pytest.raises(StoreError):
        safe_name(name)
    with pytest.raises(StoreError):
        store.read_bytes(name)


def test_join_drops_empty_parts_and_slashes():
    assert join("/exports/", "", "run/", "/manifest.json") == "exports/run/manifest.json"
    assert join("", "") == ""


def test_put_read_open_list_delete(store):
    assert store.read_bytes("run/manifest.json") is None
    assert store.list("run") == {}
    store.put_atomic("run/manifest.json", b"{}")
    store.put_atomic("run/sub/batch001.zip", b"zip bytes")
    store.put_atomic("run/manifest.json", b'{"v": 2}')  # replaced whole
    store.put_atomic("other/x", b"x")
    assert store.read_bytes("run/manifest.json") == b'{"v": 2}'
    with store.open("run/sub/batch001.zip") as fh:
        assert fh.read() == b"zip bytes"
    assert store.list("run") == {"manifest.json": 8, "sub/batch001.zip": 9}
    store.delete("run/sub/batch001.zip")
    store.delete("run/never-there")  # deleting what is gone is no error
    assert store.list("run") == {"manifest.json": 8}


def test_local_writes_leave_no_partial_file_and_symlinks_are_listed_not_followed(tmp_path):
    store = LocalStore(tmp_path / "root")
    store.put_atomic("run/manifest.json", b"{}")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret").write_bytes(b"secret")
    (tmp_path / "root" / "run" / "link").symlink_to(tmp_path / "outside")
    assert store.list("run") == {"manifest.json": 2, "link": -1}
    assert sorted(p.name for p in (tmp_path / "root" / "run").iterdir()) == ["link", "manifest.json"]
    (tmp_path / "root" / "run" / "link").unlink()
    store.delete("run/manifest.json")
    store.remove_empty_dirs("run")
    assert not (tmp_path / "root" / "run").exists()
    assert store.local_path("run/x") == tmp_path / "root" / "run" / "x"


def test_s3_names_and_description(s3_endpoint, s3_bucket):
    client = s3_endpoint.client()
    store = S3Store(s3_bucket, "exports", client)
    store.put_atomic("run/manifest.json", b"{}")
    assert client.get_object(Bucket=s3_bucket, Key="exports/run/manifest.json")["Body"].read() == b"{}"
    assert store.describe("run/manifest.json") == f"s3://{s3_bucket}/exports/run/manifest.json"
    assert store.local_path("run/manifest.json") is None


def test_store_for_location_roots_the_store_at_the_parent(tmp_path, s3_endpoint):
    store, name = store_for_location(str(tmp_path / "exports" / "run1"))
    assert (store, name) == (LocalStore(tmp_path / "exports"), "run1")
    client = s3_endpoint.client()
    store, name = store_for_location("s3://bucket/exports/daily/run1/", s3_client=client)
    assert (store, name) == (S3Store("bucket", "exports/daily", client), "run1")
    for bad in ("s3://bucket", "s3://bucket/", "s3:///key"):
        with pytest.raises(StoreError, match="s3://bucket/key"):
            store_for_location(bad)


def test_hash_stream_reads_to_the_end_in_chunks():
    data = bytes(range(256)) * 5000  # more than one 1 MiB chunk
    size, digest = hash_stream(io.BytesIO(data))
    assert (size, digest) == (len(data), hashlib.sha256(data).hexdigest())
