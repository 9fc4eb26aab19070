"""What the emails of one Global Relay channel say: summary, participants table and transcript lines.

Each in text and HTML; see :mod:`~mmgov.compliance.globalrelay_format` for the email they go in.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import html
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from email import policy as email_policy
from email.message import MIMEPart
from email.utils import format_datetime

from mmgov.compliance.globalrelay_mime import CRLF, POLICY, address_header, header_text
from mmgov.compliance.model import (
    ChannelActivity,
    ClassifiedPost,
    ExportBatch,
    ExportedFile,
    MemberEvent,
    UpdateType,
    UserInfo,
)

REMOVED_SUFFIX = "was removed because it was too large to send."
SUBJECT_PREFIX = "Mattermost Compliance Export: "
MSG_TYPE = "Mattermost"
NO_PARTICIPANT_FROM = "mattermost-compliance-export@localhost"  # only when no participant has an email


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


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


@dataclass(slots=True)
class Line:
    """One transcript entry (a message, an upload or a deletion) rendered as text and HTML."""

    key: tuple[int, str, int]  # (time, post id, seq)
    text: str
    html: str
    user_id: str = ""
    is_message: bool = False


@dataclass(frozen=True, slots=True)
class _Participant:
    join: MemberEvent
    left_at: int


class ChannelTranscript:
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
            address = header_text(p.join.user.email)
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
        out = [address_header("From", [self.mail_from]), address_header("To", self.mail_to)]
        msg = MIMEPart(policy=email_policy.default)
        msg["Subject"] = header_text(SUBJECT_PREFIX + self.display)
        msg["Date"] = format_datetime(dt.datetime.fromtimestamp(self.batch.end_ms // 1000, tz=dt.UTC))
        msg["Message-ID"] = f"<{self.ident(n)}.{self.info.id}@mmgov.compliance-export>"
        msg["MIME-Version"] = "1.0"
        msg["Auto-Submitted"] = "auto-generated"
        msg["Precedence"] = "bulk"
        msg["X-GlobalRelay-MsgType"] = MSG_TYPE
        msg["X-Mattermost-ChannelName"] = header_text(self.display)
        msg["X-Mattermost-ChannelID"] = header_text(self.info.id)
        msg["X-Mattermost-ChannelType"] = self.info.type_name
        msg["Content-Type"] = f'multipart/mixed; boundary="{mixed_boundary}"'
        out += [POLICY.fold_binary(k, v) for k, v in msg.raw_items()]
        return b"".join(out) + CRLF


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


def message_line(
    cp: ClassifiedPost, update_type: UpdateType, message: str, update_at: int, edited_new: str, seq: int
) -> Line:
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
    return Line((p.create_at, p.id, seq), text, doc, p.user.id, True)


def file_line(cp: ClassifiedPost, f: ExportedFile, *, deleted: bool, removed: bool, seq: int) -> Line:
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
    return Line((when, p.id, seq), text, doc + "</li>", p.user.id, False)


def join_text(lines: Iterable[str]) -> str:
    return "\n".join(lines)


def join_html(lines: Iterable[str]) -> str:
    return "\n".join(lines) + "\n"
