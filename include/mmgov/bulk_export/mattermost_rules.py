"""Mattermost's own validity rules for the values of an import line, ported from its Go model.

Each function names the Go function it follows (``server/public/model/`` unless said otherwise). The
import validator (:mod:`mmgov.bulk_export.import_validator`) applies them where Mattermost's importer
applies them: names are lower-cased first where the importer lower-cases them.
"""

from __future__ import annotations

import io
import re
from datetime import datetime
from functools import cache
from typing import IO
from xml.etree import ElementTree

# user.go: restrictedUsernames, validUsernameChars, UserNameMinLength/MaxLength (bytes).
RESTRICTED_USERNAMES = frozenset({"all", "channel", "matterbot", "system"})
_USERNAME = re.compile(r"[a-z0-9.\-_]+")
# utils.go: reservedName (a team name that *starts with* one of them is reserved), validAlphaNum
# (team names), validSimpleAlphaNum (channel names); team.go TeamNameMinLength 2; channel.go
# ChannelNameMinLength 1.
RESERVED_NAMES = (
    "admin",
    "api",
    "channel",
    "claim",
    "error",
    "files",
    "help",
    "landing",
    "login",
    "mfa",
    "oauth",
    "plug",
    "plugins",
    "post",
    "signup",
    "boards",
    "playbooks",
)
_ALPHA_NUM = re.compile(r"[a-z0-9]+([a-z\-0-9]+|(__)?)[a-z0-9]+")
_SIMPLE_ALPHA_NUM = re.compile(r"[a-z0-9]+([a-z\-_0-9]+|(__)?)[a-z0-9]*")
# scheme.go IsValidSchemeName: ^[a-z0-9_]{2,SchemeNameMaxLength}$.
_SCHEME_NAME = re.compile(r"[a-z0-9_]{2,64}")
# post.go Post.IsValid: the known types, or any starting with PostCustomTypePrefix.
POST_TYPES = frozenset(
    {
        "",
        "system_generic",
        "system_join_leave",
        "system_auto_responder",
        "system_add_remove",
        "system_join_channel",
        "system_guest_join_channel",
        "system_leave_channel",
        "system_join_team",
        "system_leave_team",
        "system_add_to_channel",
        "system_add_guest_to_chan",
        "system_remove_from_channel",
        "system_move_channel",
        "system_add_to_team",
        "system_remove_from_team",
        "slack_attachment",
        "system_header_change",
        "system_purpose_change",
        "system_displayname_change",
        "system_convert_channel",
        "system_channel_deleted",
        "system_channel_restored",
        "system_change_chan_privacy",
        "add_bot_teams_channels",
        "reminder",
        "me",
        "system_wrangler",
        "system_gm_to_channel",
        "burn_on_read",
    }
)
CUSTOM_POST_TYPE_PREFIX = "custom_"
# user.go UserLocaleMaxLength.
LOCALE_MAX_LENGTH = 5
# Go's time.Time JSON form: RFC 3339 (time.RFC3339Nano on output; strict RFC 3339 on input).
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})")
# config.go FileSettings.MaxImageResolution default (7680 x 4320): importProfileImage's checkImageLimits.
MAX_IMAGE_RESOLUTION = 7680 * 4320
# config.go FileSettings.MaxFileSize default (100 MiB): importProfileImage reads no more than this.
MAX_FILE_SIZE = 104_857_600
# The decoders Mattermost registers: mmctl's import validator decodes emoji images with image/gif,
# image/jpeg, image/png and x/image/webp (server/cmd/mmctl/commands/importer/validate.go); the
# server decodes profile pictures with those plus BMP and TIFF (its imaging library).
EMOJI_IMAGE_FORMATS = ("PNG", "JPEG", "GIF", "WEBP")
PROFILE_IMAGE_FORMATS = (*EMOJI_IMAGE_FORMATS, "BMP", "TIFF")
# Characters Go's net/mail refuses in an atom (isAtext): specials; everything else printable is atext,
# and so is any non-ASCII rune (RFC 6532).
_MAIL_SPECIALS = frozenset('()<>[]:;@\\,"')


def is_valid_username(username: str) -> bool:
    """``IsValidUsername``: 1-64 bytes of a-z, 0-9, '.', '-', '_', not a restricted name."""
    return (
        1 <= len(username.encode()) <= 64
        and _USERNAME.fullmatch(username) is not None
        and username not in RESTRICTED_USERNAMES
    )


def is_reserved_team_name(name: str) -> bool:
    """``IsReservedTeamName``: the lower-cased name *starts with* a reserved word (``helpdesk``)."""
    lowered = name.lower()
    return any(lowered.startswith(word) for word in RESERVED_NAMES)


def is_valid_team_name(name: str) -> bool:
    """``IsValidTeamName``: at least 2 of a-z, 0-9 and '-', not at either end."""
    return len(name) >= 2 and _ALPHA_NUM.fullmatch(name) is not None


def is_valid_channel_name(name: str) -> bool:
    """``IsValidChannelIdentifier``: a-z, 0-9, '-' and '_', starting with a letter or digit (it may
    end with '-' or '_')."""
    return len(name) >= 1 and _SIMPLE_ALPHA_NUM.fullmatch(name) is not None


def is_valid_scheme_name(name: str) -> bool:
    """``IsValidSchemeName``: 2-64 of a-z, 0-9 and '_'."""
    return _SCHEME_NAME.fullmatch(name) is not None


def is_valid_post_type(post_type: str) -> bool:
    """``Post.IsValid``: a known type or a custom one (``custom_...``)."""
    return post_type in POST_TYPES or post_type.startswith(CUSTOM_POST_TYPE_PREFIX)


def _is_atom(text: str, *, dots: str) -> bool:
    """An atom of Go's ``net/mail`` (``consumeAtom``); ``dots``: ``"any"`` (the permissive local part)
    or ``"dot-atom"`` (the domain: no leading, trailing or double dot)."""
    if not text:
        return False
    for char in text:
        if char == ".":
            continue
        if not (ord(char) >= 0x80 or ("!" <= char <= "~" and char not in _MAIL_SPECIALS)):
            return False
    return dots == "any" or not (text.startswith(".") or text.endswith(".") or ".." in text)


def _is_quoted_local_part(text: str) -> bool:
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        return False
    body = text[1:-1]
    i = 0
    while i < len(body):
        char = body[i]
        if char == "\\":
            i += 2
            continue
        if char == '"' or (ord(char) < 0x20 and char != "\t") or char == "\x7f":
            return False
        i += 1
    return i == len(body)


def is_valid_email(email: str) -> bool:
    """``IsValidEmail`` (utils.go): lower case, one ``@``, and ``net/mail.ParseAddress`` reads exactly
    this address (no display name, no comment, no surrounding space)."""
    if email != email.lower() or email.count("@") != 1:
        return False
    local, domain = email.split("@")
    if not (_is_quoted_local_part(local) or _is_atom(local, dots="any")):
        return False
    if domain.startswith("[") and domain.endswith("]"):
        return all("!" <= char <= "~" and char not in "[]\\" for char in domain[1:-1])
    return _is_atom(domain, dots="dot-atom")


@cache
def _known_subtags() -> tuple[frozenset[str], frozenset[str]]:
    """Language and region codes of the CLDR data Babel ships (the registry Go's x/text/language uses
    is ISO 639 / ISO 3166 / UN M.49; CLDR holds every language and region a Mattermost locale uses)."""
    from babel import Locale

    english = Locale("en")
    languages = frozenset(code.lower() for code in english.languages if "_" not in code)
    regions = frozenset(code.upper() for code in english.territories)
    return languages, regions


def is_valid_locale(locale: str) -> bool:
    """``IsValidLocale`` (user.go): empty, or at most 5 characters that ``language.Parse`` reads: a
    known language, optionally with a known region (``pt-BR``, ``zh_CN``), or a private-use tag."""
    if locale == "":
        return True
    if len(locale) > LOCALE_MAX_LENGTH:
        return False
    parts = re.split(r"[-_]", locale)
    if parts[0].lower() == "x":
        return len(parts) == 2 and re.fullmatch(r"[A-Za-z0-9]{1,8}", parts[1]) is not None
    languages, regions = _known_subtags()
    if not re.fullmatch(r"[A-Za-z]{2,3}", parts[0]) or parts[0].lower() not in languages:
        return False
    if len(parts) == 1:
        return True
    return (
        len(parts) == 2
        and re.fullmatch(r"[A-Za-z]{2}|\d{3}", parts[1]) is not None
        and (parts[1].upper() in regions)
    )


def is_rfc3339(value: str) -> bool:
    """What Go's ``time.Time.UnmarshalJSON`` accepts (``custom_status.expires_at``): RFC 3339."""
    if _RFC3339.fullmatch(value) is None:
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def image_problem(
    stream: IO[bytes], formats: tuple[str, ...], *, max_pixels: int | None = None
) -> str | None:
    """Why Mattermost could not decode this image (``None`` when it can): not one of ``formats``,
    broken data, or more than ``max_pixels`` pixels. Decoded with Pillow (the pixels, not only the
    header, as Go's ``image.Decode`` does)."""
    from PIL import Image, UnidentifiedImageError

    raw = stream.read(MAX_FILE_SIZE + 1)
    if len(raw) > MAX_FILE_SIZE:
        return f"larger than the {MAX_FILE_SIZE} bytes Mattermost reads (FileSettings.MaxFileSize)"
    data = io.BytesIO(raw)
    try:
        with Image.open(data, formats=list(formats)) as image:
            width, height = image.size
            if max_pixels is not None and width * height > max_pixels:
                return f"{width}x{height} pixels, more than the {max_pixels} Mattermost accepts"
            image.load()
    except UnidentifiedImageError:
        return f"not an image Mattermost decodes ({', '.join(formats)})"
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        return f"cannot be decoded: {exc}"
    return None


def is_svg(stream: IO[bytes]) -> bool:
    """Whether the bytes are an SVG document (XML whose root element is ``svg``)."""
    try:
        root = ElementTree.parse(stream).getroot()  # noqa: S314 - no external entities are resolved
    except ElementTree.ParseError:
        return False
    return root.tag.rsplit("}", 1)[-1] == "svg"


def svg_problem(stream: IO[bytes]) -> str | None:
    """mmctl's check of an ``.svg`` emoji image: it must parse as XML."""
    try:
        ElementTree.parse(stream)  # noqa: S314 - the standard parser: no external entities are resolved
    except ElementTree.ParseError as exc:
        return f"SVG cannot be parsed: {exc}"
    return None
