"""The file store (mmgov.file_store): path safety, local and S3 reads and removals, the root check.

S3 runs against the loopback moto server; FileSettings' meaning follows Mattermost's file backends
(server/platform/shared/filestore/localstore.go, s3store.go: ``AmazonS3Endpoint`` is a host, the
scheme coming from ``AmazonS3SSL``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mmgov import file_store
from mmgov.file_store import (
    AttachmentUnavailable,
    FilesMissing,
    FileStoreUnavailable,
    LocalFileStore,
    S3FileStore,
    enforce_missing_files,
    file_store_from_settings,
    safe_relative_path,
)
from mmgov.outcome import is_deterministic
from mmgov.settings import FileSettings


def put(root: Path, rel: str, data: bytes = b"x") -> None:
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    (root / rel).write_bytes(data)


class TestSafeRelativePath:
    @pytest.mark.parametrize(
        ("path", "reason"),
        [
            ("", "empty"),
            ("   ", "empty"),
            (None, "empty"),
            ("/etc/passwd", "absolute"),
            ("C:/x", "absolute"),
            ("../x", "'..' refused"),
            ("a/../../x", "'..' refused"),
            ("a/b/..", "'..' refused"),
            ("..", "'..' refused"),
            ("a\\b", "backslash"),
            ("a\\..\\b", "backslash"),
            ("a\x00b", "NUL"),
            (".", "does not name a file"),
            ("./", "does not name a file"),
        ],
        ids=[
            "empty",
            "blank",
            "not-a-string",
            "absolute",
            "drive",
            "dotdot",
            "inner-dotdot",
            "trailing-dotdot",
            "parent",
            "backslash",
            "backslash-dotdot",
            "nul",
            "dot",
            "dot-slash",
        ],
    )
    def test_refused(self, path, reason):
        with pytest.raises(AttachmentUnavailable, match=reason):
            safe_relative_path(path)

    @pytest.mark.parametrize(
        ("path", "clean"),
        [
            ("2026/teams/t/./x.png", "2026/teams/t/x.png"),
            ("./2026/x.png", "2026/x.png"),
            ("2026//teams/x.png", "2026/teams/x.png"),
            ("2026/teams/", "2026/teams"),
            ("2026/teams/t/f1/x.png", "2026/teams/t/f1/x.png"),  # already normal: as it is
        ],
    )
    def test_accepted(self, path, clean):
        assert safe_relative_path(path) == clean


class TestLocalReads:
    @pytest.mark.parametrize("fd_paths", [True, False], ids=["proc-fd", "realpath"])
    def test_reads_inside_the_root_only(self, tmp_path, monkeypatch, fd_paths):
        """Both ways of opening (Linux's /proc/self/fd check after the open, realpath before it) read
        files and symlinks that stay inside the root, and refuse every other case with its reason."""
        root, outside = tmp_path / "store", tmp_path / "outside"
        (root / "a" / "f1").mkdir(parents=True)
        outside.mkdir()
        (root / "a" / "f1" / "x.txt").write_bytes(b"inside")
        (outside / "secret.txt").write_bytes(b"never read")
        (root / "a" / "f2").symlink_to(root / "a" / "f1")  # a folder symlink inside the root
        (root / "a" / "f1" / "y.txt").symlink_to(root / "a" / "f1" / "x.txt")  # a file symlink inside
        (root / "a" / "out").symlink_to(outside)  # a folder symlink out
        (root / "a" / "f1" / "s.txt").symlink_to(outside / "secret.txt")  # a file symlink out
        (root / "a" / "f1" / "loop").symlink_to(root / "a" / "f1" / "loop")
        os.mkfifo(root / "a" / "f1" / "fifo")
        store = LocalFileStore(root)
        monkeypatch.setattr(LocalFileStore, "_fd_paths", fd_paths)

        def read(path: str) -> bytes | str:
            try:
                with store.open(path) as fh:
                    return fh.read()
            except AttachmentUnavailable as exc:
                return str(exc)

        assert read("a/f1/x.txt") == b"inside"
        assert read("a/f2/x.txt") == b"inside"
        assert read("a/f1/y.txt") == b"inside"
        for path in ("a/out/secret.txt", "a/f1/s.txt"):
            assert "outside the file store" in read(path), path
        assert "not found" in read("a/f1/missing.txt")
        assert "symlink refused" in read("a/f1/loop")
        assert "not a regular file" in read("a/f1/fifo")  # and the open did not wait for a writer
        assert "not a regular file" in read("a/f1")
        assert "'..' refused" in read("a/../../outside/secret.txt")
        assert not [
            fd
            for fd in os.listdir("/proc/self/fd")
            if os.path.realpath(f"/proc/self/fd/{fd}") == str((outside / "secret.txt").resolve())
        ]  # a refused file's descriptor is closed


class TestLocalRemove:
    def test_never_leaves_its_root(self, tmp_path):
        root, outside = tmp_path / "store", tmp_path / "secret"
        root.mkdir()
        outside.mkdir()
        (outside / "keep.txt").write_text("keep")
        (root / "link").symlink_to(outside)
        put(root, "ok/f.txt")
        result = LocalFileStore(root).remove(["../secret/keep.txt", "link/keep.txt", "ok/f.txt"])
        assert result.refused == ["../secret/keep.txt", "link/keep.txt"]
        assert result.removed == ["ok/f.txt"]
        assert (outside / "keep.txt").read_text() == "keep"

    def test_every_unsafe_path_is_refused_and_the_root_stays(self, tmp_path):
        put(tmp_path, "keep.txt")
        unsafe = ["", ".", "..", "/etc/passwd", "C:/x", "a\\b", "a\x00b", "./"]
        result = LocalFileStore(tmp_path).remove(unsafe)
        assert result.refused == unsafe
        assert (result.removed, result.failed) == ([], {})
        assert (tmp_path / "keep.txt").exists()

    def test_empty_folders_are_pruned_up_to_the_root_and_missing_files_count_as_removed(self, tmp_path):
        put(tmp_path, "2026/teams/t/f1/a.txt")
        put(tmp_path, "2026/teams/u/b.txt")
        result = LocalFileStore(tmp_path).remove(["2026/teams/t/f1/a.txt", "2026/gone.txt"])
        assert result.removed == ["2026/teams/t/f1/a.txt", "2026/gone.txt"]
        assert not (tmp_path / "2026/teams/t").exists()
        assert (tmp_path / "2026/teams/u/b.txt").exists()  # a folder still holding a file stays
        assert tmp_path.is_dir()

    def test_a_file_that_cannot_be_removed_is_reported_failed(self, tmp_path):
        (tmp_path / "dir.txt").mkdir()  # unlink() of a folder fails
        result = LocalFileStore(tmp_path).remove(["dir.txt"])
        assert list(result.failed) == ["dir.txt"]
        assert result.failed["dir.txt"].startswith(("IsADirectoryError", "PermissionError"))


class TestCheckRoot:
    def test_local_root_must_exist_and_be_a_folder(self, tmp_path):
        assert file_store_from_settings(FileSettings(Directory=str(tmp_path))).check_root() == str(tmp_path)
        with pytest.raises(
            FileStoreUnavailable, match=r"FileSettings\.Directory '.*/nope' does not exist"
        ) as exc:
            file_store_from_settings(FileSettings(Directory=str(tmp_path / "nope"))).check_root()
        assert is_deterministic(exc.value)
        (tmp_path / "file").write_text("x")
        with pytest.raises(FileStoreUnavailable, match="is not a folder"):
            file_store_from_settings(FileSettings(Directory=str(tmp_path / "file"))).check_root()

    def test_the_message_names_the_setting_as_written(self, tmp_path, monkeypatch):
        monkeypatch.chdir(tmp_path)
        with pytest.raises(FileStoreUnavailable, match=r"FileSettings\.Directory '\./data/' does not exist"):
            file_store_from_settings(FileSettings()).check_root()

    def test_local_root_must_be_readable(self, tmp_path, monkeypatch):
        monkeypatch.setattr(file_store.os, "access", lambda path, mode: False)  # root reads anything
        with pytest.raises(FileStoreUnavailable, match="cannot be read by this worker"):
            LocalFileStore(tmp_path).check_root()

    def test_s3_bucket_must_be_readable(self, s3_endpoint, s3_bucket):
        client = s3_endpoint.client()
        ok = FileSettings(DriverName="amazons3", AmazonS3Bucket=s3_bucket, AmazonS3PathPrefix="mm")
        assert file_store_from_settings(ok, s3_client_override=client).check_root() == f"s3://{s3_bucket}/mm"
        missing = FileSettings(DriverName="amazons3", AmazonS3Bucket="no-such-bucket")
        with pytest.raises(
            FileStoreUnavailable,
            match=r"FileSettings\.AmazonS3Bucket 'no-such-bucket' cannot be read .*connection mattermost_s3",
        ) as exc:
            file_store_from_settings(missing, s3_client_override=client).check_root()
        assert is_deterministic(exc.value)  # 404: for good


class TestS3:
    def test_reads_under_the_prefix_and_refuses_traversal(self, s3_conn, s3_bucket):
        s3_conn.client().put_object(Bucket=s3_bucket, Key="mm/a/f.txt", Body=b"inside")
        store = S3FileStore(s3_bucket, "/mm/")
        with store.open("a/./f.txt") as fh:
            assert fh.read() == b"inside"
        with pytest.raises(AttachmentUnavailable, match=r"'\.\.'"), store.open("../other-prefix/secret"):
            pass
        with pytest.raises(AttachmentUnavailable, match="not found"), store.open("nope/missing.txt"):
            pass

    def test_remove_in_batches_of_the_delete_limit(self, s3_conn, s3_bucket, monkeypatch):
        client = s3_conn.client()
        paths = [f"a/f{i}.txt" for i in range(5)]
        for path in paths:
            client.put_object(Bucket=s3_bucket, Key=f"mm/{path}", Body=b"x")
        client.put_object(Bucket=s3_bucket, Key="elsewhere.txt", Body=b"keep")
        requests: list[int] = []

        class Counting:
            def delete_objects(self, **kwargs):
                requests.append(len(kwargs["Delete"]["Objects"]))
                return client.delete_objects(**kwargs)

        monkeypatch.setattr(file_store, "S3_DELETE_LIMIT", 2)
        store = S3FileStore(s3_bucket, "mm", client=Counting())
        result = store.remove([*paths, "../elsewhere.txt", "a/never-there.txt"])
        assert requests == [2, 2, 2]
        assert result.removed == [*paths, "a/never-there.txt"]
        assert result.refused == ["../elsewhere.txt"]
        keys = {o["Key"] for o in client.list_objects_v2(Bucket=s3_bucket).get("Contents", [])}
        assert keys == {"elsewhere.txt"}

    def test_per_key_errors_are_reported_failed(self, s3_bucket):
        class Refusing:
            def delete_objects(self, **kwargs):
                key = kwargs["Delete"]["Objects"][0]["Key"]
                return {"Errors": [{"Key": key, "Code": "AccessDenied", "Message": "no"}]}

        result = S3FileStore(s3_bucket, "mm", client=Refusing()).remove(["a.txt", "b.txt"])
        assert result.failed == {"a.txt": "AccessDenied: no"}
        assert result.removed == ["b.txt"]

    def test_endpoint_region_and_ssl_from_file_settings(self, s3_endpoint, minio_file_settings, s3_bucket):
        """A MinIO-backed Mattermost: the connection holds only credentials, FileSettings the endpoint."""
        s3_endpoint.client().put_object(Bucket=s3_bucket, Key="mm/a.txt", Body=b"via FileSettings")
        host = minio_file_settings["AmazonS3Endpoint"]
        fs = FileSettings(
            AmazonS3Bucket=s3_bucket,
            AmazonS3PathPrefix="mm",
            AmazonS3Region="eu-west-3",
            **minio_file_settings,
        )
        store = file_store_from_settings(fs)
        assert isinstance(store, S3FileStore)
        with store.open("a.txt") as fh:
            assert fh.read() == b"via FileSettings"
        assert store.client.meta.endpoint_url == f"http://{host}"
        assert store.client.meta.region_name == "eu-west-3"
        assert store.check_root() == f"s3://{s3_bucket}/mm"
        assert store.remove(["a.txt"]).removed == ["a.txt"]

    @pytest.mark.parametrize(
        ("endpoint", "ssl", "url"),
        [
            ("s3.amazonaws.com", True, None),
            ("", True, None),
            ("minio:9000", True, "https://minio:9000"),
            ("minio:9000", False, "http://minio:9000"),
            ("http://minio:9000", True, "http://minio:9000"),
        ],
        ids=["aws", "unset", "ssl", "no-ssl", "with-scheme"],
    )
    def test_endpoint_url(self, endpoint, ssl, url):
        assert file_store._endpoint_url(endpoint, ssl) == url

    def test_the_connections_endpoint_wins(self, s3_conn):
        client = file_store.s3_client(endpoint="elsewhere:9000", ssl=False)
        assert client.meta.endpoint_url == s3_conn.url


class TestMissingFiles:
    def test_warn_lets_the_run_go_on(self):
        assert enforce_missing_files("warn", 3, "local:/data") is None  # no exception: listed, goes on

    def test_fail_raises_naming_the_count_and_the_store(self):
        with pytest.raises(FilesMissing, match=r"3 file\(s\) .* missing from the file store local:/data"):
            enforce_missing_files("fail", 3, "local:/data")
        enforce_missing_files("fail", 0, "local:/data")  # nothing missing: nothing to fail
