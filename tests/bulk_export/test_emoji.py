"""Custom emoji lines and their images, at the export root and under ``data/``."""

from __future__ import annotations

from mmgov_dev.synth.files import EMOJI_PNG
from tests.bulk_export.workspace import by_key


def test_emoji_images_go_to_exported_emoji_and_data(export, edge_workspace):
    emoji = by_key(export.of_type("emoji"), "name")
    # the deleted one is left out, and so is the one whose image is missing: Mattermost's importer
    # stops at an emoji line whose image it cannot open (app.import.emoji.bad_file.error in
    # server/channels/app/import_functions.go), and every direct message comes after the emoji
    assert set(emoji) == {"partyparrot"}
    parrot = edge_workspace.id("emoji:partyparrot")
    assert emoji["partyparrot"]["image"] == f"exported_emoji/{parrot}/image"
    assert export.members[f"exported_emoji/{parrot}/image"] == EMOJI_PNG
    assert export.members[f"data/exported_emoji/{parrot}/image"] == EMOJI_PNG
    assert [line["type"] for line in export.lines][-4:] == ["direct_post"] * 4  # all of them
