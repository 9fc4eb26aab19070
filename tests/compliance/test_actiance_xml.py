"""XML text for the Actiance document: what XML 1.0 cannot carry, and escaping as lxml does."""

from __future__ import annotations

import pytest
from lxml import etree

from mmgov.compliance.actiance_xml import escape_attribute, escape_text, xml_text


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("\x00", "\ufffd"),
        ("\ud83d", "\ufffd"),
        ("\ufffe\uffff", "\ufffd\ufffd"),
        ("\t\n\r", "\t\n\r"),
        ("\ud7ff\ue000\ufffd\U0010ffff", "\ud7ff\ue000\ufffd\U0010ffff"),
        (12, "12"),
    ],
    ids=["nul", "lone-surrogate", "nonchars", "whitespace", "edges-kept", "int"],
)
def test_xml_text(raw, clean):
    assert xml_text(raw) == clean


def test_xml_escapes_parse_back():
    raw = "a&<>\"'\r\n\t]]>\x00\ud800\ufffe é"
    clean = "a&<>\"'\r\n\t]]>\ufffd\ufffd\ufffd é"
    doc = f'<x a="{escape_attribute(raw)}">{escape_text(raw)}</x>'.encode()  # fails if a surrogate remained
    element = etree.fromstring(doc)
    assert element.get("a") == clean
    assert element.text == clean  # \r survives as &#13;
