"""XML text for the Actiance document: escaping as lxml escapes, and Go's indentation.

Text is escaped as lxml serialises it (``&``, ``<``, ``>`` and ``\\r`` in text, also ``"``, ``\\n``
and ``\\t`` in attributes). Characters XML 1.0 forbids (C0 controls other than tab/LF/CR, lone
surrogates, U+FFFE/U+FFFF) become U+FFFD, so the document parses whatever the messages contain.
"""

from __future__ import annotations

import re

# XML 1.0 Char: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]. Everything else
# (C0 controls, lone surrogates, U+FFFE, U+FFFF) is replaced by U+FFFD.
# The complement, as one positive character class (a class searches several times faster than an
# alternation with a negated class): C0 controls but tab/LF/CR, surrogates, U+FFFE and U+FFFF.
FORBIDDEN_XML = "\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff"
_NOT_XML_CHAR = re.compile(f"[{FORBIDDEN_XML}]")
REPLACEMENT_CHARACTER = "\ufffd"

# Indentation (Go's xml.Encoder.Indent("", "  ")): depth 1 = Conversation, 2 = its children, 3 = fields.
NL1, NL2, NL3 = "\n  ", "\n    ", "\n      "

TEXT_SPECIAL = re.compile(f"[&<>\r{FORBIDDEN_XML}]")
_ATTR_SPECIAL = re.compile(f'[&<>"\r\n\t{FORBIDDEN_XML}]')
_TEXT_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_ATTR_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\r": "&#13;", "\n": "&#10;", "\t": "&#9;"}
)


def xml_text(value: object) -> str:
    """``value`` as text XML 1.0 can carry: forbidden characters become U+FFFD."""
    text = value if isinstance(value, str) else str(value)
    return _NOT_XML_CHAR.sub(REPLACEMENT_CHARACTER, text)


def escape_text(value: object) -> str:
    """``value`` as XML element text: forbidden characters -> U+FFFD, then ``& < > \\r`` escaped."""
    text = value if isinstance(value, str) else str(value)
    if TEXT_SPECIAL.search(text) is None:
        return text
    return xml_text(text).translate(_TEXT_ESCAPES)


def escape_attribute(value: object) -> str:
    """``value`` as a double-quoted XML attribute value (as lxml writes it)."""
    text = value if isinstance(value, str) else str(value)
    if _ATTR_SPECIAL.search(text) is None:
        return text
    return xml_text(text).translate(_ATTR_ESCAPES)
