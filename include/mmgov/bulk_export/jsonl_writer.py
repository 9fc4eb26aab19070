"""The ``import.jsonl`` stream: one JSON object per line, counted per line type.

Objects are either Python values (encoded compactly with the standard ``json``), JSON text
already rendered by PostgreSQL, or whole lines as UTF-8 bytes rendered by PostgreSQL (the posts),
which go to the text stream's binary buffer without being decoded.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from datetime import UTC, datetime
from typing import IO, Any

import mmgov

GENERATOR = "mmgov"
FORMAT_VERSION = 1
# Compact, UTF-8 (no \u escapes for non-ASCII), newlines inside strings always escaped.
dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode

# Mattermost's line types, in the order an import file must have them (the seed's rule_02).
LINE_ORDER = (
    "version",
    "scheme",
    "role",
    "team",
    "channel",
    "user",
    "bot",
    "post",
    "emoji",
    "direct_channel",
    "direct_post",
)


COPY_BUFFER = 1024 * 1024


class JsonlWriter:
    """Writes lines to a text stream (a file: UTF-8, ``\\n`` line ends) and counts them per type."""

    def __init__(self, stream: IO[str]):
        self.stream = stream
        self.counts: Counter[str] = Counter()

    def version(self, additional: dict[str, Any] | None = None, *, created: datetime | None = None) -> None:
        """The first line: format version 1 and who made the file when."""
        info: dict[str, Any] = {
            "generator": GENERATOR,
            "version": getattr(mmgov, "__version__", "0"),
            "created": (created or datetime.now(UTC))
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
        }
        if additional:
            info["additional"] = additional
        self.stream.write(dumps({"type": "version", "version": FORMAT_VERSION, "info": info}) + "\n")
        self.counts["version"] += 1

    def obj(self, line_type: str, body: dict[str, Any]) -> None:
        """A line from a Python object."""
        self.stream.write('{"type":"' + line_type + '","' + line_type + '":' + dumps(body) + "}\n")
        self.counts[line_type] += 1

    def raw(self, line_type: str, bodies: list[str]) -> None:
        """Lines whose bodies are JSON text already (one per element)."""
        if not bodies:
            return
        head = '{"type":"' + line_type + '","' + line_type + '":'
        self.stream.write(head + ("}\n" + head).join(bodies) + "}\n")
        self.counts[line_type] += len(bodies)

    def lines(self, line_type: str, data: bytes, count: int) -> None:
        """``count`` complete lines of ``line_type`` as UTF-8 bytes, each ending with ``\\n``."""
        self.stream.flush()  # what was written as text goes first
        self.stream.buffer.write(data)  # type: ignore[attr-defined]
        self.counts[line_type] += count

    def append(self, other: JsonlWriter) -> None:
        """Append everything ``other`` wrote (a spool opened ``w+``), byte for byte, with its counts."""
        other.stream.flush()
        source = other.stream.buffer  # type: ignore[attr-defined]
        source.seek(0)
        self.stream.flush()
        shutil.copyfileobj(source, self.stream.buffer, COPY_BUFFER)  # type: ignore[attr-defined]
        self.counts.update(other.counts)
