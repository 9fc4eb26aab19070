"""mmgov.compliance.model: the names and ids the records derive, which every format writes as is.

Mattermost's rules they follow: the channel type names (``ChannelTypeDisplayName`` in
server/enterprise/message_export/shared/shared.go); ``Direct Message``/``Group Message`` for DMs and GMs
(docs/compliance-export.md) and a file's zip entry ``files/<postId>/<fileId>-<basename>``
(include/mmgov/compliance/FORMATS.md).
The formats' output with these records is tested in the format modules' tests.
"""

from __future__ import annotations

import pytest

from mmgov.compliance.export_window import ExportWindow
from mmgov.compliance.model import (
    ChannelInfo,
    ClassifiedPost,
    ExportBatch,
    ExportedFile,
    MessageEntry,
    PostRecord,
    UpdateType,
    UserInfo,
)


@pytest.mark.parametrize(
    ("ctype", "name", "display", "dm", "unknown"),
    [
        ("O", "public", "Town", False, False),
        ("P", "private", "Town", False, False),
        ("D", "direct", "Direct Message", True, False),
        ("G", "group", "Group Message", True, False),
        ("X", "X", "Town", False, True),  # a type added after this version: its raw value
        ("", "", "Town", False, False),  # a post without its channel row: not an unknown type
    ],
)
def test_channel_type_names(ctype, name, display, dm, unknown):
    channel = ChannelInfo("cid", "town", "Town", ctype)
    assert (channel.type_name, channel.export_display_name) == (name, display)
    assert (channel.is_direct_or_group, channel.has_unknown_type) == (dm, unknown)
    assert channel.room_id == f"{name} - cid"


def test_user_type():
    assert UserInfo("u", "alice", "a@x").user_type == "user"
    assert UserInfo("b", "helper", "", is_bot=True).user_type == "bot"


@pytest.mark.parametrize(
    ("path", "base"),
    [("20260101/teams/t/channels/c/users/u/f/a.pdf", "a.pdf"), ("dir/", "dir"), ("", "."), ("/", ".")],
)
def test_a_files_zip_name_is_its_post_id_and_path_base(path, base):
    f = ExportedFile("fid", "pid", "uploaded name.pdf", path)
    assert f.basename == base
    assert f.zip_name == f"files/pid/fid-{base}"
    assert not f.is_deleted
    f.delete_at = 5
    assert f.is_deleted


def _post(original_id: str = "") -> PostRecord:
    channel = ChannelInfo("cid", "town", "Town", "O")
    return PostRecord("pid", 1, 2, 0, 0, UserInfo("u", "alice", "a@x"), channel, "", original_id, "hi", "")


def test_only_an_edited_original_names_the_post_holding_the_new_text():
    post = _post(original_id="newid")
    assert MessageEntry(post, UpdateType.EDITED_ORIGINAL, "old", 2).edited_new_msg_id == "newid"
    assert MessageEntry(post, UpdateType.EDITED_NEW, "new", 2).edited_new_msg_id == ""


def test_batch_zip_names_and_files_in_post_order():
    window = ExportWindow(1_000, 9_000)
    first, second = _post(), _post()
    first.files = (ExportedFile("f1", "pid", "a", "a"), ExportedFile("f2", "pid", "b", "b"))
    second.files = (ExportedFile("f3", "pid", "c", "c"),)
    posts = [ClassifiedPost(first, ()), ClassifiedPost(second, ())]
    batch = ExportBatch(7, window, 1_000, 4_000, posts, {})
    assert batch.zip_name == "batch007-1000-4000.zip"
    assert [f.id for f in batch.files()] == ["f1", "f2", "f3"]
    late = ExportBatch(1, window, 100, 900, [], {}, zip_prefix="late-")
    assert late.zip_name == "late-batch001-100-900.zip"
