"""The CSV format's ``metadata.json``: per channel its names and counts, as Mattermost writes it."""

from __future__ import annotations

from json.encoder import encode_basestring  # the C string encoder
from typing import Any

from mmgov.compliance.model import ChannelInfo, ExportBatch

METADATA_JSON = "metadata.json"

# Go's encoding/json escapes these inside strings; so does metadata.json, to match byte for byte.
_GO_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}

_CHANNEL_KEYS = (
    "TeamId",
    "TeamName",
    "TeamDisplayName",
    "ChannelId",
    "ChannelName",
    "ChannelDisplayName",
    "ChannelType",
    "RoomId",
    "StartTime",
    "EndTime",
    "MessagesCount",
    "AttachmentsCount",
)


def _channel_values(ch: ChannelInfo, batch: ExportBatch) -> tuple[Any, ...]:
    """A channel's ``metadata.json`` values before its counts, in ``_CHANNEL_KEYS`` order."""
    return (
        ch.team_id,
        ch.team_name,
        ch.team_display_name,
        ch.id,
        ch.name,
        ch.display_name,
        ch.type,
        ch.room_id,
        batch.window.start_ms,
        batch.window.end_ms,
    )


def metadata_fields(batch: ExportBatch, counts: dict[str, list[int]]) -> dict[str, Any]:
    """``metadata.json`` as a dict: keys as Mattermost (Go) writes them, channels sorted by id."""
    channels: dict[str, Any] | None = None
    if batch.channels:
        channels = {}
        for cid, act in sorted(batch.channels.items()):
            ch = act.channel
            messages, attachments = counts.get(cid, (0, 0))
            values = (*_channel_values(ch, batch), messages, attachments)
            channels[cid] = dict(zip(_CHANNEL_KEYS, values, strict=True))
    return {
        "Channels": channels,
        "MessagesCount": sum(c[0] for c in counts.values()),
        "AttachmentsCount": sum(c[1] for c in counts.values()),
        "StartTime": batch.start_ms,
        "EndTime": batch.end_ms,
    }


def _go_escape(text: str) -> str:
    for char, escaped in _GO_JSON_ESCAPES.items():
        if char in text:
            text = text.replace(char, escaped)
    return text


def metadata_document(
    batch: ExportBatch, counts: dict[str, list[int]], cache: dict[tuple[str, int, int], str] | None = None
) -> str:
    """``metadata.json``: exactly ``json.dumps(metadata_fields(...), indent=2)`` with Go's escapes.

    Written by hand because ``indent`` makes Python fall back to its pure-Python encoder, which
    costs ~50 ms per batch on a workspace with hundreds of active channels. ``cache`` keeps each
    channel's block up to its counts, rendered and escaped once per window (a window's channel
    records do not change).
    """
    if not batch.channels:
        channels = "null"
    else:
        cache = {} if cache is None else cache
        blocks = []
        start, end = batch.window.start_ms, batch.window.end_ms
        for cid, act in sorted(batch.channels.items()):
            head = cache.get((cid, start, end))
            if head is None:
                head = cache[(cid, start, end)] = _channel_block_head(cid, act.channel, batch)
            messages, attachments = counts.get(cid, (0, 0))
            blocks.append(f'{head}{messages},\n      "AttachmentsCount": {attachments}\n    }}')
        channels = "{\n" + ",\n".join(blocks) + "\n  }"
    messages = sum(c[0] for c in counts.values())
    attachments = sum(c[1] for c in counts.values())
    return (
        f'{{\n  "Channels": {channels},\n  "MessagesCount": {messages},\n'
        f'  "AttachmentsCount": {attachments},\n  "StartTime": {batch.start_ms},\n'
        f'  "EndTime": {batch.end_ms}\n}}'
    )


def _channel_block_head(cid: str, ch: ChannelInfo, batch: ExportBatch) -> str:
    """A channel's ``metadata.json`` block up to the value of ``MessagesCount`` (escaped)."""
    enc = encode_basestring
    inner = "".join(
        f"      {enc(k)}: {enc(v) if isinstance(v, str) else v},\n"
        for k, v in zip(_CHANNEL_KEYS, _channel_values(ch, batch), strict=False)
    )
    return _go_escape(f'    {enc(cid)}: {{\n{inner}      "MessagesCount": ')
