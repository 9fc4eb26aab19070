"""The local file store: attachments, thumbnails, profile pictures and emoji images."""

from __future__ import annotations

import re
import struct
import time

from mmgov_dev.synth import SynthConfig, generate
from tests.synth.conftest import END_MS, Generated

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_every_attachment_exists_except_the_missing_ones(generated: Generated):
    root = generated.file_root
    rows = generated.rows("SELECT id, path, size FROM fileinfo")
    missing = set(generated.summary.missing_file_ids)
    assert len(missing) == generated.config.missing_files == 3
    absent = {fid for fid, path, _size in rows if not (root / path).is_file()}
    assert absent == missing
    for fid, path, size in rows:
        if fid not in missing:
            assert (root / path).stat().st_size == size, path


def test_missing_files_belong_to_live_posts(generated: Generated):
    n = generated.scalar(
        "SELECT count(*) FROM fileinfo f JOIN posts p ON p.id = f.postid "
        "WHERE f.id = ANY(%s) AND f.deleteat = 0 AND p.deleteat = 0",
        (generated.summary.missing_file_ids,),
    )
    assert n == 3


def test_paths_follow_mattermost_layout(generated: Generated):
    rows = generated.rows(
        "SELECT f.id, f.path, f.name, f.creatorid, f.channelid, f.createat, c.teamid, p.createat, p.channelid, "
        "p.userid FROM fileinfo f JOIN channels c ON c.id = f.channelid JOIN posts p ON p.id = f.postid"
    )
    assert rows
    for fid, path, name, creator, channel, createat, team, post_at, post_channel, author in rows:
        day = time.strftime("%Y%m%d", time.gmtime(createat // 1000))
        assert path == f"{day}/teams/{team or 'noteam'}/channels/{channel}/users/{creator}/{fid}/{name}"
        assert (createat, channel, creator) == (post_at, post_channel, author)
    assert any("/teams/noteam/" in r[1] for r in rows)


def test_images_are_real_pngs_with_thumbnails(generated: Generated):
    root = generated.file_root
    rows = generated.rows(
        "SELECT id, path, thumbnailpath, previewpath, width, height FROM fileinfo "
        "WHERE mimetype = 'image/png' AND NOT id = ANY(%s)",
        (generated.summary.missing_file_ids,),
    )
    assert rows
    for _fid, path, thumb, preview, width, height in rows:
        data = (root / path).read_bytes()
        assert data.startswith(PNG_SIGNATURE)
        assert struct.unpack(">II", data[16:24]) == (width, height)
        assert thumb.endswith("_thumb.jpg")
        assert preview.endswith("_preview.jpg")
        assert (root / thumb).is_file()
        assert (root / preview).is_file()
    others = generated.scalar(
        "SELECT count(*) FROM fileinfo WHERE NOT haspreviewimage AND thumbnailpath <> ''"
    )
    assert others == 0


def test_several_kinds_of_attachments(generated: Generated):
    kinds = {r[0] for r in generated.rows("SELECT DISTINCT extension FROM fileinfo")}
    assert len(kinds) >= 4


def test_profile_pictures(generated: Generated):
    root = generated.file_root
    rows = generated.rows("SELECT id, lastpictureupdate FROM users")
    with_picture = [uid for uid, at in rows if at > 0]
    assert len(with_picture) >= len(rows) // 2
    for uid, at in rows:
        path = root / "users" / uid / "profile.png"
        assert path.is_file() == (at > 0), uid
        if at > 0:
            assert path.read_bytes().startswith(PNG_SIGNATURE)


def test_emoji_images(generated: Generated):
    root = generated.file_root
    ids = [r[0] for r in generated.rows("SELECT id FROM emoji")]
    assert ids
    for eid in ids:
        data = (root / "emoji" / eid / "image").read_bytes()
        assert data.startswith((PNG_SIGNATURE, b"GIF89a", b"<svg"))


def test_blob_count_matches_summary(generated: Generated):
    files = [p for p in generated.file_root.rglob("*") if p.is_file()]
    assert len(files) == generated.summary.blobs_written


def test_without_a_file_root_no_blob_is_written_but_rows_exist(synth_db, tmp_path):
    _dsn, conn = synth_db
    summary = generate(conn, SynthConfig(posts=1500, seed=5, end_ms=END_MS))
    assert summary.file_root is None
    assert summary.blobs_written == 0
    assert conn.execute("SELECT count(*) FROM fileinfo").fetchone()[0] == summary.counts["fileinfo"] > 0
    assert len(summary.missing_file_ids) == 3


def test_file_names_with_unicode_commas_and_spaces_are_stored_verbatim(generated: Generated):
    names = {r[0] for r in generated.rows("SELECT name FROM fileinfo")}
    odd = [n for n in names if re.search(r"[ ,()]|[^\x00-\x7f]", n)]
    assert odd


def test_attachment_ratio_drives_file_volume(synth_db):
    _dsn, conn = synth_db
    generate(conn, SynthConfig(posts=2000, seed=9, end_ms=END_MS, attachment_ratio=0.2, missing_files=0))
    with_files = conn.execute("SELECT count(*) FROM posts WHERE fileids <> '[]'").fetchone()[0]
    assert with_files > 200
