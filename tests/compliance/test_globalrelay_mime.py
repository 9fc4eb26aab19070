"""MIME pieces of Global Relay's emails: base64 sizes and streaming, entry names, types, address headers."""

from __future__ import annotations

import base64
import io

import pytest

from mmgov.compliance.globalrelay_mime import (
    _B64_CHUNK,
    address_header,
    b64,
    b64_size,
    content_type_for,
    copy_b64,
    entry_name,
)


@pytest.mark.parametrize("n", [0, 1, 56, 57, 58, 114, 1000, 123_457])
def test_b64_size_is_exact(n):
    assert b64_size(n) == len(base64.encodebytes(b"x" * n).replace(b"\n", b"\r\n"))


def test_streamed_base64_equals_the_whole_encoding():
    data = bytes(range(256)) * (2 * _B64_CHUNK // 256 + 7)  # two chunks and a partial line
    out = io.BytesIO()
    assert copy_b64(io.BytesIO(data), out) == len(data)
    assert out.getvalue() == b64(data)
    assert len(out.getvalue()) == b64_size(len(data))


def test_entry_name_and_types():
    """Mattermost 10.5+'s entry names (``<channel name> - (<channel id>) - <n>.eml``)."""
    assert entry_name("a/b\\c\nd", "cid", 2) == "a_b_c_d - (cid) - 2.eml"
    assert entry_name("", "cid", 0) == "cid - (cid) - 0.eml"
    assert content_type_for("x.PDF") == "application/pdf"
    assert (
        content_type_for("x.docx")
        == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    )
    assert content_type_for("noext") == "application/octet-stream"


def test_address_header_folds_after_commas():
    addresses = [f"user{i:02d}@example.com" for i in range(6)]
    header = address_header("To", addresses)
    lines = header.decode().split("\r\n")
    assert lines[-1] == ""  # ends with CRLF
    assert all(len(line) <= 78 for line in lines)
    assert "".join(lines).replace("To:", "", 1).replace(" ", "").split(",") == addresses
