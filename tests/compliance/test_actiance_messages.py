"""The Message / FileTransfer elements of an Actiance conversation: their order (Mattermost's
actiance_export.go, ``SortableSort`` and ``EnsureLastMessageInASort``) and the plain post's fast path."""

from __future__ import annotations

from mmgov.compliance.actiance_messages import (
    AFTER_MESSAGES,
    MESSAGE,
    TRANSFER_ENDED,
    TRANSFER_STARTED,
    Element,
    general_element,
    message_element,
    sorted_elements,
)
from mmgov.compliance.model import ChannelInfo, ExportedFile, PostRecord, UserInfo
from mmgov.compliance.post_classifier import classify
from tests.compliance.classified_posts import nasty_posts, plain_posts

USER = UserInfo("u", "n", "e@x")
CHANNEL = ChannelInfo("c", "n", "d", "O")


def _post(pid: str, create: int, *, update: int | None = None, files: tuple[ExportedFile, ...] = ()):
    edited = 1 if update else 0
    post = PostRecord(pid, create, update or create, 0, edited, USER, CHANNEL, "", "", "m", "", files=files)
    return classify(post, 0)


def test_elements_sort_by_time_and_id_transfers_after_the_messages_of_their_millisecond():
    upload = ExportedFile("f", "b" * 26, "doc.txt", "x/doc.txt", create_at=10)
    with_file = _post("b" * 26, 10, files=(upload,))
    plain = _post("a" * 26, 10)
    edited = _post("c" * 26, 5, update=20)  # sorts by its edit time
    order = [(e.time, e.sort_id, e.kind) for e in sorted_elements([edited, with_file, plain])]
    assert order == [
        (10, "a" * 26, MESSAGE),
        (10, "b" * 26, MESSAGE),
        (10, AFTER_MESSAGES, TRANSFER_STARTED),
        (10, AFTER_MESSAGES, TRANSFER_ENDED),
        (20, "c" * 26, MESSAGE),
    ]


def test_actiance_message_fast_path_equals_the_general_element():
    nasty = ["a&b<c>", "cr\ronly", "ctl\x01\x0b", "emoji 😀", "\ufffe", "]]>"]
    for cp in plain_posts() + nasty_posts():
        p = cp.post
        for text in nasty:
            for m in cp.messages:
                m.message = text
                p.previewed_post = text if text.startswith("a") else p.previewed_post
                general = general_element(Element(p.create_at, p.id, 0, MESSAGE, cp, m, None))
                assert message_element(p, m) == general
