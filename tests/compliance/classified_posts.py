"""Classified posts with awkward text, shared by the CSV and Actiance rendering unit tests."""

from __future__ import annotations

from mmgov.compliance.model import ChannelInfo, ExportedFile, PostRecord, UserInfo
from mmgov.compliance.post_classifier import classify

NASTY = ["a,b", 'say "hi"', "line\nbreak", "cr\ronly", "", "plain", "é ü", " lead"]


def nasty_posts() -> list:
    """Posts with files whose every text field needs escaping somewhere (quotes, breaks, commas)."""
    out = []
    for i, text in enumerate(NASTY):
        user = UserInfo(f"u{i}", f"name{text}", f"e{i}{text}@x", is_bot=i % 2 == 0)
        channel = ChannelInfo(f"c{i}", f"n{text}", f"d{text}", "OPDG"[i % 4], "t", f"tn{text}", f"td{text}")
        files = (ExportedFile(f"f{i}", f"p{i}", f"file{text}", f"a/b{i}", delete_at=i % 2),)
        post = PostRecord(
            f"p{i}", 10 + i, 20 + i, 30 if i % 3 else 0, i % 2, user, channel, "root", "orig" if i == 4 else "",
            text, "", "u" if i % 3 == 1 else None, "prev" if i == 2 else "", files=files,
        )  # fmt: skip
        out.append(classify(post, 0))
    return out


def plain_posts() -> list:
    """Posts without files (the renderer's fast path): created, edited, updated, an edit's old text."""
    out = []
    for i, text in enumerate(NASTY):
        user = UserInfo(f"u{i}", f"name{text}", f"e{i}{text}@x", is_bot=i % 2 == 1)
        channel = ChannelInfo(f"c{i}", f"n{text}", f"d{text}", "OPDG"[i % 4], "t", f"tn{text}", f"td{text}")
        update_at, edit_at = (10, 0) if i % 3 == 0 else (20 + i, i % 2)
        post = PostRecord(
            f"q{i}", 10, update_at, 30 if i == 5 else 0, edit_at, user, channel, "root" if i % 2 else "",
            "orig" + text if i == 5 else "", text, "", None, "prev" if i == 2 else "",
        )  # fmt: skip
        out.append(classify(post, 0))
    return out
