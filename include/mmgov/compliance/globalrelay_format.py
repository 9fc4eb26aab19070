"""The Global Relay EML format (``globalrelay`` mails the emails; ``globalrelay-zip`` keeps the zip instead).

One email per channel of the batch (channels in id order; a channel with joins and leaves only gets
one too: participants, no messages), zip entry ``<channel name> - (<channel id>) - <n>.eml`` with
``n`` counting from 0 (Mattermost 10.5+'s names);
``warning.txt`` when attachments could not be read or were left out. Each email::

    From: <first participant's email, participants sorted by username>
    To: <every participant's email, comma-separated>
    Subject: Mattermost Compliance Export: <channel display name>       (RFC 2047 when not ASCII)
    Date: <batch end, UTC>          Message-ID: <deterministic, for de-duplication by the archive>
    MIME-Version: 1.0 / Auto-Submitted: auto-generated / Precedence: bulk / X-GlobalRelay-MsgType: Mattermost
    X-Mattermost-ChannelName / X-Mattermost-ChannelID / X-Mattermost-ChannelType
    multipart/mixed
      multipart/alternative: text/plain and text/html (UTF-8, base64): summary, participants, messages
      one part per attachment: Content-Disposition: attachment; filename=..., base64, type by extension

Content rules (the seed): message-deletion entries are left out (``Mmgov.GlobalRelayIncludeMessageDeletions``
puts them back), file deletions are included (``Deleted file <name>``, with ``FileDeleted`` at the
file's deleteat), uploads are ``Uploaded file <name>`` lines plus the file itself; as in Mattermost,
a post's file lines are sent at the post's createat. A post row left with nothing to say is counted
in ``posts_skipped``.

Size: an email is closed and the next one started (same channel, ``n + 1``) when adding the next
post would make its estimated size pass ``Mmgov.GlobalRelayMaxEmailBytes`` (250 MB, Global Relay's
limit). The estimate is the exact encoded size of headers, text, HTML and base64 attachments, taking
each attachment's size from ``fileinfo.size``. A post whose attachments cannot fit in an email even
alone is sent without them: each file's line says it ``was removed because it was too large to
send``, an ERROR is logged with the id ``global_relay_attachments_removed`` (post id, attachment
ids), and the files count as ``files_skipped`` with a warning, so reconciliation still holds.

Memory: the email package builds every header (RFC 2047 words, RFC 2231 file names, folding), but
its generator buffers whole messages, attachments included. So the MIME tree is written here part
by part into the zip entry's stream: the text and HTML of one email are held in memory (bounded by
the batch), attachments are read through the ``FileSource`` and base64-encoded in 1 MiB chunks.
Output is deterministic: boundaries and Message-IDs derive from the channel, the batch and ``n``.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import html
import logging
import mimetypes
import re
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from email import policy as email_policy
from email.message import MIMEPart
from email.utils import format_datetime
from pathlib import Path
from typing import IO, Any

from mmgov.compliance.formats import (
    MISSING_FILE_DURING_COPY,
    MISSING_FILE_DURING_READ,
    BatchResult,
    ComplianceFormat,
    FileSource,
    ZipSink,
)
from mmgov.compliance.model import (
    ChannelActivity,
    ClassifiedPost,
    ExportBatch,
    ExportedFile,
    MemberEvent,
    UpdateType,
    UserInfo,
)
from mmgov.file_store import AttachmentUnavailable
from mmgov.settings import Settings

log = logging.getLogger(__name__)

WARNING_TXT = "warning.txt"
ATTACHMENTS_REMOVED_ID = "global_relay_attachments_removed"
REMOVED_SUFFIX = "was removed because it was too large to send."
SUBJECT_PREFIX = "Mattermost Compliance Export: "
MSG_TYPE = "Mattermost"
NO_PARTICIPANT_FROM = "mattermost-compliance-export@localhost"  # only when no participant has an email
OVERSIZE_WARNING = "Attachment removed: too large to send to Global Relay"
_POLICY = email_policy.SMTP  # CRLF line endings, 7-bit headers (RFC 2047 / RFC 2231)
_CRLF = b"\r\n"
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


# --- small renderers -----------------------------------------------------------------------------


def format_time(ms: int) -> str:
    """RFC 3339 UTC with milliseconds: ``2026-01-01T00:00:05.123Z``."""
    seconds, millis = divmod(ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


def format_duration(ms: int) -> str:
    """``1 hour 40 minutes 5 seconds`` (whole seconds; ``0 seconds`` when shorter)."""
    seconds = max(ms, 0) // 1000
    parts = []
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        n, seconds = divmod(seconds, size)
        if n:
            parts.append(f"{n} {unit}{'' if n == 1 else 's'}")
    return " ".join(parts) or "0 seconds"


def b64_size(n: int) -> int:
    """Bytes of ``n`` bytes base64-encoded in 76-character CRLF lines."""
    lines = -(-n // _B64_LINE)
    return -(-n // 3) * 4 + 2 * lines


def _header_text(value: str) -> str:
    return _HEADER_UNSAFE.sub(" ", value).strip()


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _utf8(text: str) -> bytes:
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


# --- the plan: which post goes into which email --------------------------------------------------


@dataclass(slots=True)
class _Line:
    """One transcript entry (a message, an upload or a deletion) rendered as text and HTML."""

    key: tuple[int, str, int]  # (time, post id, seq)
    text: str
    html: str
    user_id: str = ""
    is_message: bool = False


@dataclass(slots=True)
class _Block:
    """One post row's lines and attachments: posts are never split across emails."""

    cp: ClassifiedPost
    lines: list[_Line]
    attachments: list[ExportedFile]
    removed: list[ExportedFile] = field(default_factory=list)
    text_bytes: int = 0
    html_bytes: int = 0
    attachment_bytes: int = 0


@dataclass(slots=True)
class _Email:
    blocks: list[_Block] = field(default_factory=list)
    text_bytes: int = 0
    html_bytes: int = 0
    attachment_bytes: int = 0


@dataclass(frozen=True, slots=True)
class _Participant:
    join: MemberEvent
    left_at: int


class _Channel:
    """What every email of one channel shares: participants, summary, headers."""

    def __init__(self, batch: ExportBatch, activity: ChannelActivity):
        self.batch = batch
        self.info = activity.channel
        left_default = batch.end_ms
        self.participants = sorted(
            (
                _Participant(
                    j, j.left_at if j.left_at is not None and j.left_at < left_default else left_default
                )
                for j in activity.joins
            ),
            key=lambda p: (p.join.user.username, p.join.time, p.join.user.email, p.join.user.id),
        )
        emails: list[str] = []
        for p in self.participants:
            address = _header_text(p.join.user.email)
            if address and address not in emails:
                emails.append(address)
        self.mail_from = emails[0] if emails else NO_PARTICIPANT_FROM
        self.mail_to = emails or [NO_PARTICIPANT_FROM]
        self.display = self.info.export_display_name or self.info.name
        self._headers: dict[int, bytes] = {}
        self._rows: list[tuple[str, str, str]] | None = None

    # text and HTML around the entries ---------------------------------------------------------

    def summary(self, n: int, total: int) -> tuple[list[str], list[str]]:
        ch, b = self.info, self.batch
        rows = [
            ("Team", f"{ch.team_display_name} ({ch.team_name})" if ch.team_id else ""),
            ("Team Id", ch.team_id),
            ("Channel", f"{self.display} ({ch.name})"),
            ("Channel Id", ch.id),
            ("Channel Type", ch.type_name),
            ("Started", format_time(b.start_ms)),
            ("Ended", format_time(b.end_ms)),
            ("Duration", format_duration(b.end_ms - b.start_ms)),
        ]
        if total > 1:
            rows.append(("Email", f"{n + 1} of {total}"))
        text = [SUBJECT_PREFIX + self.display, "", "Conversation summary"]
        text += [f"  {k}: {v}" for k, v in rows]
        doc = [
            '<html><head><meta charset="utf-8"><title>'
            + _esc(SUBJECT_PREFIX + self.display)
            + "</title></head><body>",
            "<h3>Conversation Summary</h3>",
            "<table>",
        ]
        doc += [f"<tr><th>{k}</th><td>{_esc(v)}</td></tr>" for k, v in rows]
        doc.append("</table>")
        return text, doc

    def participants_table(self, counts: Counter[str]) -> tuple[list[str], list[str]]:
        """The participants table of one email: the rows rendered once per channel, plus the counts."""
        text = ["", "Participants"]
        doc = [
            "<h3>Participants</h3>",
            "<table>",
            "<tr><th>User Id</th><th>Username</th><th>User Type</th><th>Email</th><th>Joined</th>"
            "<th>Left</th><th>Duration</th><th>Messages</th></tr>",
        ]
        for uid, row_text, row_html in self._participant_rows():
            n = counts.get(uid, 0)
            text.append(f"{row_text}{n} message{'' if n == 1 else 's'}")
            doc.append(f"{row_html}{n}</td></tr>")
        doc.append("</table>")
        return text, doc

    def _participant_rows(self) -> list[tuple[str, str, str]]:
        """(user id, text row, HTML row) without the message count (the same in every email of the batch)."""
        if self._rows is None:
            rows = []
            times: dict[int, str] = {}  # most members leave at the batch end: format each time once
            for p in self.participants:
                u = p.join.user
                joined = times.get(p.join.time) or times.setdefault(p.join.time, format_time(p.join.time))
                left = times.get(p.left_at) or times.setdefault(p.left_at, format_time(p.left_at))
                duration = format_duration(p.left_at - p.join.time)
                who, cells = _who(u)[0], _user_cells(u.id, u.username, u.email, u.user_type)
                rows.append(
                    (
                        u.id,
                        f"  {who}: joined {joined}, left {left}, duration {duration}, ",
                        f"<tr>{cells}<td>{joined}</td><td>{left}</td><td>{duration}</td><td>",
                    )
                )
            self._rows = rows
        return self._rows

    # headers -----------------------------------------------------------------------------------

    def ident(self, n: int) -> str:
        seed = f"{self.info.id}|{self.batch.start_ms}|{self.batch.end_ms}|{n}".encode()
        return hashlib.sha256(seed).hexdigest()[:32]

    def headers(self, n: int, mixed_boundary: str) -> bytes:
        """The top-level header block (ends with the blank line); cached per ``n``."""
        cached = self._headers.get(n)
        if cached is None:
            cached = self._headers[n] = self._build_headers(n, mixed_boundary)
        return cached

    def _build_headers(self, n: int, mixed_boundary: str) -> bytes:
        out = [_address_header("From", [self.mail_from]), _address_header("To", self.mail_to)]
        msg = MIMEPart(policy=email_policy.default)
        msg["Subject"] = _header_text(SUBJECT_PREFIX + self.display)
        msg["Date"] = format_datetime(dt.datetime.fromtimestamp(self.batch.end_ms // 1000, tz=dt.UTC))
        msg["Message-ID"] = f"<{self.ident(n)}.{self.info.id}@mmgov.compliance-export>"
        msg["MIME-Version"] = "1.0"
        msg["Auto-Submitted"] = "auto-generated"
        msg["Precedence"] = "bulk"
        msg["X-GlobalRelay-MsgType"] = MSG_TYPE
        msg["X-Mattermost-ChannelName"] = _header_text(self.display)
        msg["X-Mattermost-ChannelID"] = _header_text(self.info.id)
        msg["X-Mattermost-ChannelType"] = self.info.type_name
        msg["Content-Type"] = f'multipart/mixed; boundary="{mixed_boundary}"'
        out += [_POLICY.fold_binary(k, v) for k, v in msg.raw_items()]
        return b"".join(out) + _CRLF


def _address_header(name: str, addresses: list[str]) -> bytes:
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
    return _utf8("\r\n".join(lines)) + _CRLF


def _part_headers(headers: list[tuple[str, str, dict[str, str]]]) -> bytes:
    part = MIMEPart(policy=email_policy.default)
    for name, value, params in headers:
        part.add_header(name, value, **params)
    return b"".join(_POLICY.fold_binary(k, v) for k, v in part.raw_items()) + _CRLF


def _attachment_headers(file: ExportedFile) -> bytes:
    return _attachment_headers_for(_header_text(file.name) or file.basename)


@functools.lru_cache(maxsize=4096)
def _attachment_headers_for(filename: str) -> bytes:
    """The part headers of an attachment (cached: building headers is the email package's slow part)."""
    return _part_headers(
        [
            ("Content-Type", content_type_for(filename), {}),
            ("Content-Disposition", "attachment", {"filename": filename}),
            ("Content-Transfer-Encoding", "base64", {}),
        ]
    )


_TEXT_HEADERS = _part_headers(
    [("Content-Type", "text/plain", {"charset": "utf-8"}), ("Content-Transfer-Encoding", "base64", {})]
)
_HTML_HEADERS = _part_headers(
    [("Content-Type", "text/html", {"charset": "utf-8"}), ("Content-Transfer-Encoding", "base64", {})]
)


class GlobalRelayFormat(ComplianceFormat):
    """Mattermost's Global Relay EML export; ``globalrelay`` also mails each email (see globalrelay_delivery)."""

    name = "globalrelay"

    def __init__(self, settings: Settings, export_format: str | None = None):
        super().__init__(settings, export_format)
        if self.export_format not in ("globalrelay", "globalrelay-zip"):
            raise ValueError(
                f"GlobalRelayFormat serves globalrelay and globalrelay-zip, not {self.export_format!r}"
            )
        self.max_email_bytes = settings.Mmgov.GlobalRelayMaxEmailBytes
        self.include_message_deletions = settings.Mmgov.GlobalRelayIncludeMessageDeletions
        if (
            self.export_format == "globalrelay"
            and not settings.MessageExportSettings.GlobalRelaySettings.EmailAddress
        ):
            from mmgov.compliance.globalrelay_delivery import GlobalRelayConfigError  # no task retry

            raise GlobalRelayConfigError(
                "MessageExportSettings.GlobalRelaySettings.EmailAddress is empty; the globalrelay format mails "
                "every export to that address (use globalrelay-zip to keep the zips instead)"
            )

    @property
    def publishes_archive(self) -> bool:  # type: ignore[override]
        """``globalrelay`` mails the emails and keeps no zip; ``globalrelay-zip`` keeps the zips."""
        return self.export_format == "globalrelay-zip"

    # --- writing ---------------------------------------------------------------------------------

    def write_batch(self, batch: ExportBatch, out: ZipSink, files: FileSource) -> BatchResult:
        result = BatchResult.of(batch)
        by_channel: dict[str, list[ClassifiedPost]] = {}
        for cp in batch.posts:
            by_channel.setdefault(cp.post.channel.id, []).append(cp)
            result.posts += 1
        emails = 0
        removed = 0
        for cid, activity in sorted(batch.channels.items()):
            channel = _Channel(batch, activity)
            blocks = [self._block(cp, result) for cp in by_channel.get(cid, ())]
            blocks = [b for b in blocks if b is not None]
            # Every channel of the batch gets an email, one with joins and leaves only too: its
            # participants table and no message (as Mattermost 10.5+ sends it).
            plan = self._plan(channel, blocks) or [_Email()]
            for n, email in enumerate(plan):
                self._write_email(out, channel, n, len(plan), email, files, result)
            for b in blocks:
                removed += len(b.removed)
            emails += len(plan)
        result.extra = {"emails": emails, "attachments_removed": removed}
        if result.warnings:
            out.write_text(WARNING_TXT, "".join(w + "\n" for w in result.warnings))
        return result

    def _block(self, cp: ClassifiedPost, result: BatchResult) -> _Block | None:
        """Render one post row; None (and ``posts_skipped``) when nothing of it is exported."""
        p = cp.post
        lines: list[_Line] = []
        seq = 0
        for m in cp.messages:
            if m.update_type is UpdateType.DELETED and not self.include_message_deletions:
                continue
            lines.append(_message_line(cp, m.update_type, m.message, m.update_at, m.edited_new_msg_id, seq))
            result.messages += 1
            seq += 1
        for f in cp.uploads:
            lines.append(_file_line(cp, f, deleted=False, removed=False, seq=seq))
            result.uploads += 1
            seq += 1
        for f in cp.file_deletions:
            lines.append(_file_line(cp, f, deleted=True, removed=False, seq=seq))
            result.file_deletions += 1
            seq += 1
        if not lines and not p.files:
            result.posts_skipped += 1
            return None
        block = _Block(cp, lines, list(p.files))
        _measure(block)
        return block

    def _plan(self, channel: _Channel, blocks: list[_Block]) -> list[_Email]:
        """Group a channel's post blocks into emails under the size limit (post order kept)."""
        fixed = self._fixed_size(channel)
        emails: list[_Email] = []
        current = _Email()
        for block in blocks:
            if block.attachments and self._estimate(fixed, block) > self.max_email_bytes:
                self._remove_attachments(block)
            if current.blocks and self._estimate(fixed, current, block) > self.max_email_bytes:
                emails.append(current)
                current = _Email()
            current.blocks.append(block)
            current.text_bytes += block.text_bytes
            current.html_bytes += block.html_bytes
            current.attachment_bytes += block.attachment_bytes
        if current.blocks:
            emails.append(current)
        return emails

    def _fixed_size(self, channel: _Channel) -> tuple[int, int, int]:
        """(header and MIME frame bytes, text bytes, HTML bytes) an email of this channel has without posts."""
        counts = Counter({p.join.user.id: 10**9 for p in channel.participants})  # widest message counts
        s_text, s_html = channel.summary(0, 2)
        p_text, p_html = channel.participants_table(counts)
        text = _utf8(_join_text([*s_text, *p_text, "", "Messages", ""]))
        doc = _utf8(_join_html([*s_html, *p_html, "<h3>Messages</h3>", "<ul>", "</ul>", "</body></html>"]))
        boundary = "=_mmgov_mixed_" + channel.ident(0)
        frame = (
            len(channel.headers(0, boundary))
            + 2 * (len(boundary) + 6) * 2  # two boundary lines per multipart, twice
            + len(_TEXT_HEADERS)
            + len(_HTML_HEADERS)
            + 200  # the alternative part's headers
        )
        return frame, len(text), len(doc)

    @staticmethod
    def _estimate(fixed: tuple[int, int, int], *parts: _Email | _Block) -> int:
        frame, text, doc = fixed
        attachments = 0
        for part in parts:
            text += part.text_bytes
            doc += part.html_bytes
            attachments += part.attachment_bytes
        return frame + b64_size(text) + b64_size(doc) + attachments

    def _remove_attachments(self, block: _Block) -> None:
        """A post too big to send even alone: drop its attachments, say so in its lines, log an ERROR."""
        cp = block.cp
        block.removed = block.attachments
        block.attachments = []
        seq = len(block.lines)
        lines = [ln for ln in block.lines if ln.is_message]
        for f in cp.uploads:
            lines.append(_file_line(cp, f, deleted=False, removed=True, seq=seq))
            seq += 1
        for f in cp.file_deletions:
            lines.append(_file_line(cp, f, deleted=True, removed=True, seq=seq))
            seq += 1
        block.lines = lines
        _measure(block)
        ids = [f.id for f in block.removed]
        log.error(
            "%s: post %s: attachments %s (%d bytes) were removed because they were too large to send to "
            "Global Relay (Mmgov.GlobalRelayMaxEmailBytes = %d)",
            ATTACHMENTS_REMOVED_ID,
            cp.post.id,
            ", ".join(ids),
            sum(f.size for f in block.removed),
            self.max_email_bytes,
            extra={"id": ATTACHMENTS_REMOVED_ID, "post_id": cp.post.id, "attachment_ids": ids},
        )

    def _write_email(
        self,
        out: ZipSink,
        channel: _Channel,
        n: int,
        total: int,
        email: _Email,
        files: FileSource,
        result: BatchResult,
    ) -> None:
        lines = sorted((ln for b in email.blocks for ln in b.lines), key=lambda ln: ln.key)
        counts = Counter(ln.user_id for ln in lines if ln.is_message)
        s_text, s_html = channel.summary(n, total)
        p_text, p_html = channel.participants_table(counts)
        result.members += len(channel.participants)  # participant rows written
        text = _join_text([*s_text, *p_text, "", "Messages", *(ln.text for ln in lines), ""])
        doc = _join_html(
            [
                *s_html,
                *p_html,
                "<h3>Messages</h3>",
                "<ul>",
                *(ln.html for ln in lines),
                "</ul>",
                "</body></html>",
            ]
        )
        ident = channel.ident(n)
        mixed, alt = "=_mmgov_mixed_" + ident, "=_mmgov_alt_" + ident
        with out.open(entry_name(channel.info.name, channel.info.id, n)) as fh:
            fh.write(channel.headers(n, mixed))
            fh.write(b"--" + mixed.encode() + _CRLF)
            fh.write(_part_headers([("Content-Type", "multipart/alternative", {"boundary": alt})]))
            for part_headers, body in ((_TEXT_HEADERS, text), (_HTML_HEADERS, doc)):
                fh.write(b"--" + alt.encode() + _CRLF + part_headers)
                fh.write(_b64(_utf8(body)))
            fh.write(b"--" + alt.encode() + b"--" + _CRLF)
            for block in email.blocks:
                for file in block.attachments:
                    self._attach(fh, mixed, file, files, result)
                if block.removed:
                    for file in block.removed:
                        result.files_skipped += 1
                        result.warn(f"Warning:{OVERSIZE_WARNING} - Post: {file.post_id} - {file.path}")
            fh.write(b"--" + mixed.encode() + b"--" + _CRLF)

    @staticmethod
    def _attach(
        fh: IO[bytes], boundary: str, file: ExportedFile, files: FileSource, result: BatchResult
    ) -> None:
        """Stream one attachment as a base64 part; an unreadable file becomes a warning (no part)."""
        try:
            with files.open(file.path) as stream:
                fh.write(b"--" + boundary.encode() + _CRLF + _attachment_headers(file))
                _copy_b64(stream, fh)
        except AttachmentUnavailable as exc:
            text = MISSING_FILE_DURING_COPY if exc.during_copy else MISSING_FILE_DURING_READ
            result.warn(f"Warning:{text} - Post: {file.post_id} - {file.path}")
            result.files_missing += 1
            return
        result.files_copied += 1

    # --- delivery --------------------------------------------------------------------------------

    def deliver_batch(self, zip_path: Path, result: BatchResult, *, key: str) -> dict[str, Any]:
        """``globalrelay``: mail every email of the batch once (idempotent on ``key``); zip variant: nothing."""
        if self.export_format != "globalrelay":
            return {}
        from mmgov.compliance.globalrelay_delivery import deliver_zip

        return deliver_zip(zip_path, key=key, settings=self.settings).as_dict()


# --- lines ---------------------------------------------------------------------------------------


def _display_name(cp: ClassifiedPost) -> str:
    p = cp.post
    return p.override_username or p.webhook_display_name


def _who(user: UserInfo) -> tuple[str, str, str]:
    """A user's text fragment and two HTML fragments (escaped once per user, not once per line)."""
    return _who_for(user.id, user.username, user.email, user.user_type)


@functools.lru_cache(maxsize=65536)
def _user_cells(uid: str, username: str, email: str, user_type: str) -> str:
    """The escaped user columns of a participants table row."""
    return f"<td>{_esc(uid)}</td><td>@{_esc(username)}</td><td>{_esc(user_type)}</td><td>{_esc(email)}</td>"


@functools.lru_cache(maxsize=65536)
def _who_for(uid: str, username: str, email: str, user_type: str) -> tuple[str, str, str]:
    text = f"@{username} ({user_type}, {email}, user id {uid})"
    head = f'<span class="username">@{_esc(username)}</span> <span class="user_id">{_esc(uid)}</span> '
    tail = f'<span class="usertype">({_esc(user_type)})</span> <span class="email">({_esc(email)}):</span> '
    return text, head, tail


def _message_line(
    cp: ClassifiedPost, update_type: UpdateType, message: str, update_at: int, edited_new: str, seq: int
) -> _Line:
    p = cp.post
    who, head, tail = _who(p.user)
    sent = format_time(p.create_at)
    shown = _display_name(cp)
    notes = []
    if update_type is not UpdateType.CREATED:
        notes.append(f"{update_type.value} at {format_time(update_at)}")
    if edited_new:
        notes.append(f"edited new message id {edited_new}")
    if p.previewed_post:
        notes.append(f"previews post {p.previewed_post}")
    if shown:
        who = who.replace(" (", f' as "{shown}" (', 1)
    body = message.replace("\r\n", "\n").replace("\n", "\n      ")
    text = f"  [{sent}] {who}, post {p.id}:\n      {body}"
    if notes:
        text += "\n      (" + "; ".join(notes) + ")"
    doc = (
        f'<li><span class="post_id">{_esc(p.id)}</span> <span class="sent_time">{sent}</span> {head}'
        + (f'<span class="postusername">{_esc(shown)}</span> ' if shown else "")
        + f'{tail}<span class="message" style="white-space:pre-wrap">{_esc(message)}</span>'
    )
    if update_type is not UpdateType.CREATED:
        doc += (
            f' <span class="update_type">{update_type.value}</span>'
            f' <span class="update_time">{format_time(update_at)}</span>'
        )
    if edited_new:
        doc += f' <span class="edited_new_msg_id">{_esc(edited_new)}</span>'
    if p.previewed_post:
        doc += f' <span class="previews_post">{_esc(p.previewed_post)}</span>'
    doc += "</li>"
    return _Line((p.create_at, p.id, seq), text, doc, p.user.id, True)


def _file_line(cp: ClassifiedPost, f: ExportedFile, *, deleted: bool, removed: bool, seq: int) -> _Line:
    """An ``Uploaded file`` or ``Deleted file`` line. As Mattermost writes them, both are sent at the
    post's createat (so they follow the post's message), a deletion with the update type
    ``FileDeleted`` at the file's deleteat."""
    p = cp.post
    who, head, tail = _who(p.user)
    when = p.create_at
    verb = "Deleted file" if deleted else "Uploaded file"
    message = f"{verb} '{f.name}' (id '{f.id}') {REMOVED_SUFFIX}" if removed else f"{verb} {f.name}"
    sent = format_time(when)
    text = f"  [{sent}] {who}, post {p.id}: {message}"
    doc = (
        f'<li><span class="post_id">{_esc(p.id)}</span> <span class="sent_time">{sent}</span> {head}{tail}'
        f'<span class="message">{_esc(message)}</span>'
    )
    if deleted:
        updated = format_time(f.delete_at)
        text += f"\n      ({UpdateType.FILE_DELETED.value} at {updated})"
        doc += (
            f' <span class="update_type">{UpdateType.FILE_DELETED.value}</span>'
            f' <span class="update_time">{updated}</span>'
        )
    return _Line((when, p.id, seq), text, doc + "</li>", p.user.id, False)


def _measure(block: _Block) -> None:
    # +1 per line: the newline joining it to the next one.
    block.text_bytes = sum(len(_utf8(ln.text)) + 1 for ln in block.lines)
    block.html_bytes = sum(len(_utf8(ln.html)) + 1 for ln in block.lines)
    block.attachment_bytes = sum(
        len(_attachment_headers(f)) + b64_size(max(f.size, 0)) + 80 for f in block.attachments
    )


def _join_text(lines: Iterable[str]) -> str:
    return "\n".join(lines)


def _join_html(lines: Iterable[str]) -> str:
    return "\n".join(lines) + "\n"


def _b64(data: bytes) -> bytes:
    """base64 in 76-character lines, CRLF-terminated."""
    return base64.encodebytes(data).replace(b"\n", _CRLF)


def _copy_b64(stream: IO[bytes], out: IO[bytes]) -> int:
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
            out.write(_b64(data[:cut]))
        carry = data[cut:]
    if carry:
        out.write(_b64(carry))
    return total
