"""MIME assembly for Global Relay's emails: headers, base64 parts, entry names.

The email package builds every header (RFC 2047 words, RFC 2231 file names, folding), but its
generator buffers whole messages, attachments included; so the format writes the MIME tree part by
part with these pieces, attachments base64-encoded in 1 MiB chunks.
"""

from __future__ import annotations

import base64
import functools
import mimetypes
import re
from email import policy as email_policy
from email.message import MIMEPart
from typing import IO

from mmgov.compliance.model import ExportedFile

POLICY = email_policy.SMTP  # CRLF line endings, 7-bit headers (RFC 2047 / RFC 2231)
CRLF = b"\r\n"
_B64_LINE = 57  # bytes per 76-character base64 line
_B64_CHUNK = _B64_LINE * 18396  # ~1 MiB of input per encode call, whole lines
_MIME = mimetypes.MimeTypes(filenames=())  # the built-in table only (never /etc/mime.types): same everywhere
for _ext, _type in {
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".ods": "application/vnd.oasis.opendocument.spreadsheet",
    ".odp": "application/vnd.oasis.opendocument.presentation",
    ".md": "text/markdown",
    ".heic": "image/heic",
    ".7z": "application/x-7z-compressed",
    ".rar": "application/vnd.rar",
}.items():
    _MIME.add_type(_type, _ext)
_HEADER_UNSAFE = re.compile(r"[\x00-\x1f\x7f]+")
_NAME_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\]+")


def b64_size(n: int) -> int:
    """Bytes of ``n`` bytes base64-encoded in 76-character CRLF lines."""
    lines = -(-n // _B64_LINE)
    return -(-n // 3) * 4 + 2 * lines


def header_text(value: str) -> str:
    return _HEADER_UNSAFE.sub(" ", value).strip()


def utf8(text: str) -> bytes:
    return text.encode("utf-8", "replace")  # lone surrogates (never from PostgreSQL) become "?"


def entry_name(name: str, channel_id: str, n: int) -> str:
    """``<channel name> - (<channel id>) - <n>.eml``, as Mattermost 10.5+ names it; slashes and control
    characters become ``_`` and an empty name the channel id (neither occurs in a Mattermost channel
    name, which is ``[a-z0-9_-]``, or ``<user id>__<user id>`` for a DM)."""
    safe = _NAME_UNSAFE.sub("_", name).strip() or channel_id
    return f"{safe} - ({channel_id}) - {n}.eml"


def content_type_for(name: str) -> str:
    """MIME type by file extension (Python's built-in table), else ``application/octet-stream``."""
    guessed, _ = _MIME.guess_type(name, strict=False)
    return guessed or "application/octet-stream"


def address_header(name: str, addresses: list[str]) -> bytes:
    """``To: a@x, b@y`` folded after commas (lines under 78 characters where possible)."""
    lines: list[str] = []
    current = f"{name}:"
    for i, address in enumerate(addresses):
        token = address + ("," if i < len(addresses) - 1 else "")
        if len(current) + 1 + len(token) > 76 and current != f"{name}:":
            lines.append(current)
            current = ""
        current += " " + token
    lines.append(current)
    return utf8("\r\n".join(lines)) + CRLF


def part_headers(headers: list[tuple[str, str, dict[str, str]]]) -> bytes:
    part = MIMEPart(policy=email_policy.default)
    for name, value, params in headers:
        part.add_header(name, value, **params)
    return b"".join(POLICY.fold_binary(k, v) for k, v in part.raw_items()) + CRLF


def attachment_headers(file: ExportedFile) -> bytes:
    return _attachment_headers_for(header_text(file.name) or file.basename)


@functools.lru_cache(maxsize=4096)
def _attachment_headers_for(filename: str) -> bytes:
    """The part headers of an attachment (cached: building headers is the email package's slow part)."""
    return part_headers(
        [
            ("Content-Type", content_type_for(filename), {}),
            ("Content-Disposition", "attachment", {"filename": filename}),
            ("Content-Transfer-Encoding", "base64", {}),
        ]
    )


TEXT_HEADERS = part_headers(
    [("Content-Type", "text/plain", {"charset": "utf-8"}), ("Content-Transfer-Encoding", "base64", {})]
)
HTML_HEADERS = part_headers(
    [("Content-Type", "text/html", {"charset": "utf-8"}), ("Content-Transfer-Encoding", "base64", {})]
)


def b64(data: bytes) -> bytes:
    """base64 in 76-character lines, CRLF-terminated."""
    return base64.encodebytes(data).replace(b"\n", CRLF)


def copy_b64(stream: IO[bytes], out: IO[bytes]) -> int:
    """Encode ``stream`` into ``out`` in whole-line chunks (bounded memory); returns input bytes."""
    carry = b""
    total = 0
    while True:
        chunk = stream.read(_B64_CHUNK)
        if not chunk:
            break
        total += len(chunk)
        data = carry + chunk
        cut = len(data) - len(data) % _B64_LINE
        if cut:
            out.write(b64(data[:cut]))
        carry = data[cut:]
    if carry:
        out.write(b64(carry))
    return total
