"""The CSV format's metadata.json: json.dumps with indent 2 and Go's encoding/json escapes
(server/enterprise/message_export/csv_export/csv_export.go writes it with json.MarshalIndent)."""

from __future__ import annotations

import json


def test_metadata_document_matches_json_dumps_with_go_escapes():
    from mmgov.compliance.csv_metadata import metadata_document, metadata_fields
    from mmgov.compliance.export_window import ExportWindow
    from mmgov.compliance.model import ChannelActivity, ChannelInfo, ExportBatch

    chans = {
        "c1": ChannelActivity(
            ChannelInfo("c1", "r&d", 'Ré "quoted" <b>\u2028', "O", "t1", "team", "Team & Co")
        ),
        "c0": ChannelActivity(ChannelInfo("c0", "a__b", "", "D")),
    }
    batch = ExportBatch(2, ExportWindow(10, 99), 20, 30, [], chans)
    counts = {"c1": [3, 1], "c0": [0, 0]}
    expected = json.dumps(metadata_fields(batch, counts), indent=2, ensure_ascii=False)
    for char, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028")):
        expected = expected.replace(char, esc)
    assert metadata_document(batch, counts) == expected
    assert "\\u0026" in expected
    empty = ExportBatch(1, ExportWindow(10, 99), 10, 99, [], {})
    assert json.loads(metadata_document(empty, {}))["Channels"] is None
