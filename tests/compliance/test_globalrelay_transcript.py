"""What a Global Relay email says: times, durations and transcript lines, in text and HTML."""

from __future__ import annotations

import pytest

from mmgov.compliance.globalrelay_transcript import REMOVED_SUFFIX, file_line, format_duration, format_time
from mmgov.compliance.model import ChannelInfo, ExportedFile, PostRecord, UserInfo
from mmgov.compliance.post_classifier import classify

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (0, "1970-01-01T00:00:00.000Z"),
        (T0 + 5, "2026-01-01T00:00:00.005Z"),
        (-1, "1969-12-31T23:59:59.999Z"),
    ],
    ids=["epoch", "ms", "negative"],
)
def test_format_time(ms, text):
    assert format_time(ms) == text


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (0, "0 seconds"),
        (999, "0 seconds"),
        (61_000, "1 minute 1 second"),
        (90_061_000, "1 day 1 hour 1 minute 1 second"),
        (7_200_000, "2 hours"),
    ],
)
def test_format_duration(ms, text):
    assert format_duration(ms) == text


def test_file_lines_are_sent_at_the_posts_creation():
    """As Mattermost writes them: an upload or deletion line at the post's createat, a deletion with
    ``FileDeleted`` at the file's deleteat; a removed attachment says so."""
    user = UserInfo("u1", "amy", "a<b@x")
    f = ExportedFile("f1", "p1", "r&d.pdf", "x/r.pdf", size=10, delete_at=T0 + 9000)
    post = PostRecord(
        "p1", T0, T0 + 9000, 0, 0, user, ChannelInfo("c", "n", "d", "O"), "", "", "m", "", files=(f,)
    )
    cp = classify(post, 0)
    upload = file_line(cp, f, deleted=False, removed=False, seq=1)
    assert upload.key == (T0, "p1", 1)
    assert (
        upload.text
        == "  [2026-01-01T00:00:00.000Z] @amy (user, a<b@x, user id u1), post p1: Uploaded file r&d.pdf"
    )
    assert '<span class="message">Uploaded file r&amp;d.pdf</span></li>' in upload.html
    deleted = file_line(cp, f, deleted=True, removed=True, seq=2)
    assert deleted.text.endswith(
        f"Deleted file 'r&d.pdf' (id 'f1') {REMOVED_SUFFIX}\n      (FileDeleted at 2026-01-01T00:00:09.000Z)"
    )
    assert not deleted.is_message
