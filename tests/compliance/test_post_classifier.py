"""What a post becomes: the classifier's entries for messages, edits, deletes and files."""

from __future__ import annotations

import pytest

from mmgov.compliance.model import ChannelInfo, ExportedFile, PostRecord, UpdateType, UserInfo
from mmgov.compliance.post_classifier import classify


def _post(**kw) -> PostRecord:
    base = {
        "id": "p" * 26,
        "create_at": 100,
        "update_at": 100,
        "delete_at": 0,
        "edit_at": 0,
        "user": UserInfo("u" * 26, "alice", "a@x"),
        "channel": ChannelInfo("c" * 26, "town", "Town", "O"),
        "root_id": "",
        "original_id": "",
        "message": "hi",
        "type": "",
    }
    base.update(kw)
    return PostRecord(**base)


class TestClassifier:
    @pytest.mark.parametrize(
        ("kw", "expected"),
        [
            ({}, [UpdateType.CREATED]),
            ({"delete_at": 150, "update_at": 150, "original_id": "o" * 26}, [UpdateType.EDITED_ORIGINAL]),
            (
                {"delete_at": 150, "update_at": 150, "original_id": "o" * 26, "deleted_by": "u"},
                [UpdateType.EDITED_ORIGINAL],
            ),
            (
                {"delete_at": 150, "update_at": 150, "deleted_by": "u"},
                [UpdateType.CREATED, UpdateType.DELETED],
            ),
            ({"delete_at": 150, "update_at": 150, "deleted_by": "u", "create_at": 50}, [UpdateType.DELETED]),
            ({"update_at": 150, "edit_at": 150}, [UpdateType.EDITED_NEW]),
            ({"update_at": 150}, [UpdateType.UPDATED_NO_MSG_CHANGE]),
            ({"delete_at": 150, "update_at": 150}, [UpdateType.UPDATED_NO_MSG_CHANGE]),
        ],
        ids=[
            "created",
            "edit-original",
            "edit-original-first",
            "deleted-in-window",
            "deleted-later",
            "edited-new",
            "updated",
            "deleted-without-deleteBy",
        ],
    )
    def test_rules_first_match_wins(self, kw, expected):
        cp = classify(_post(**kw), window_start_ms=100)
        assert [m.update_type for m in cp.messages] == expected

    def test_deleted_message_text(self):
        cp = classify(_post(delete_at=150, update_at=150, deleted_by="u", create_at=50), 100)
        assert cp.messages[0].message == "delete hi"
        assert cp.messages[0].update_at == 150

    def test_files(self):
        live = ExportedFile("f" * 26, "p" * 26, "a.txt", "x/a.txt")
        gone = ExportedFile("g" * 26, "p" * 26, "b.txt", "x/b.txt", delete_at=160)
        cp = classify(_post(update_at=160, files=(live, gone)), 100)
        assert cp.uploads == (live, gone)
        assert cp.file_deletions == (gone,)
        deleted = classify(_post(delete_at=160, update_at=160, deleted_by="u", files=(gone,)), 100)
        assert deleted.uploads == (gone,)  # recorded by the "created" entry
        assert deleted.file_deletions == (gone,)
