"""The format registry and a batch result's warnings."""

from __future__ import annotations

import io
import zipfile

import pytest

from mmgov.compliance.formats import BatchResult, UnknownFormatError, get_format
from mmgov.compliance.packaging import BatchZipWriter
from mmgov.settings import Settings

JAN1 = 1_767_225_600_000


def test_unknown_format():
    with pytest.raises(UnknownFormatError, match="must be one of"):
        get_format("pdf", Settings())


def test_warning_with_a_lone_surrogate_is_escaped_not_fatal():
    result = BatchResult(zip_name="b.zip")
    result.warn("Warning:missing - Post: p - files/a\ud800b\nc é")
    assert result.warnings == ["Warning:missing - Post: p - files/a\\ud800b c é"]
    buf = io.BytesIO()
    with BatchZipWriter(buf, timestamp_ms=JAN1) as zw:
        zw.write_text("warning.txt", "".join(w + "\n" for w in result.warnings))
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as zf:
        assert zf.read("warning.txt").decode() == "Warning:missing - Post: p - files/a\\ud800b c é\n"
