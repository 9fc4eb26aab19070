"""The ``import.jsonl`` stream: compact UTF-8 lines in one order of text and raw bytes, counted per type."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

import mmgov
from mmgov.bulk_export.jsonl_writer import JsonlWriter


def _writer(path):
    return JsonlWriter(path.open("w", encoding="utf-8", newline="\n"))


def test_the_version_line_names_the_generator_and_the_creation_time(tmp_path):
    """Mattermost's importer wants ``{"type":"version","version":1}`` first (server/channels/app/import.go)."""
    writer = _writer(tmp_path / "a.jsonl")
    writer.version({"scope": "all"}, created=datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC))
    writer.stream.close()
    line = json.loads((tmp_path / "a.jsonl").read_text())
    assert line == {
        "type": "version",
        "version": 1,
        "info": {
            "generator": "mmgov",
            "version": getattr(mmgov, "__version__", "0"),
            "created": "2026-01-02T03:04:05.678Z",
            "additional": {"scope": "all"},
        },
    }
    assert writer.counts == {"version": 1}


def test_objects_are_compact_utf8_and_text_and_bytes_keep_their_order(tmp_path):
    writer = _writer(tmp_path / "a.jsonl")
    writer.obj("team", {"name": "älpha", "display_name": "line\nbreak"})
    writer.raw("channel", ['{"name":"a"}', '{"name":"b"}'])
    writer.raw("channel", [])  # nothing, not an empty line
    writer.lines("post", b'{"type":"post","post":{"message":"\xc3\xa9"}}\n', 1)
    writer.obj("emoji", {"name": "e"})
    writer.stream.close()
    assert (tmp_path / "a.jsonl").read_bytes() == (
        '{"type":"team","team":{"name":"älpha","display_name":"line\\nbreak"}}\n'
        '{"type":"channel","channel":{"name":"a"}}\n'
        '{"type":"channel","channel":{"name":"b"}}\n'
        '{"type":"post","post":{"message":"é"}}\n'
        '{"type":"emoji","emoji":{"name":"e"}}\n'
    ).encode()
    assert writer.counts == {"team": 1, "channel": 2, "post": 1, "emoji": 1}


def test_nan_is_refused_rather_than_written_as_invalid_json(tmp_path):
    writer = _writer(tmp_path / "a.jsonl")
    with pytest.raises(ValueError, match="not JSON compliant"):
        writer.obj("post", {"x": float("nan")})


def test_append_copies_a_spool_byte_for_byte_with_its_counts(tmp_path):
    main, spool = (
        _writer(tmp_path / "main.jsonl"),
        JsonlWriter((tmp_path / "spool").open("w+", encoding="utf-8")),
    )
    main.obj("team", {"name": "a"})
    spool.obj("direct_post", {"message": "ü"})
    spool.lines("direct_post", b'{"type":"direct_post"}\n', 1)
    main.append(spool)
    main.stream.close()
    assert (tmp_path / "main.jsonl").read_bytes() == (
        '{"type":"team","team":{"name":"a"}}\n{"type":"direct_post","direct_post":{"message":"ü"}}\n'
        '{"type":"direct_post"}\n'
    ).encode()
    assert main.counts == {"team": 1, "direct_post": 2}
