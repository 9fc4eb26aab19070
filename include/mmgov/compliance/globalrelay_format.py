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
The MIME pieces are :mod:`~mmgov.compliance.globalrelay_mime`; what each email says (summary,
participants, transcript lines) is :mod:`~mmgov.compliance.globalrelay_transcript`.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
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
from mmgov.compliance.globalrelay_mime import (
    CRLF,
    HTML_HEADERS,
    TEXT_HEADERS,
    attachment_headers,
    b64,
    b64_size,
    copy_b64,
    entry_name,
    part_headers,
    utf8,
)
from mmgov.compliance.globalrelay_transcript import (
    ChannelTranscript,
    Line,
    file_line,
    join_html,
    join_text,
    message_line,
)
from mmgov.compliance.model import ClassifiedPost, ExportBatch, ExportedFile, UpdateType
from mmgov.file_store import AttachmentUnavailable
from mmgov.settings import Settings

log = logging.getLogger(__name__)

WARNING_TXT = "warning.txt"
ATTACHMENTS_REMOVED_ID = "global_relay_attachments_removed"
OVERSIZE_WARNING = "Attachment removed: too large to send to Global Relay"


@dataclass(slots=True)
class _Block:
    """One post row's lines and attachments: posts are never split across emails."""

    cp: ClassifiedPost
    lines: list[Line]
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
            channel = ChannelTranscript(batch, activity)
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
        lines: list[Line] = []
        seq = 0
        for m in cp.messages:
            if m.update_type is UpdateType.DELETED and not self.include_message_deletions:
                continue
            lines.append(message_line(cp, m.update_type, m.message, m.update_at, m.edited_new_msg_id, seq))
            result.messages += 1
            seq += 1
        for f in cp.uploads:
            lines.append(file_line(cp, f, deleted=False, removed=False, seq=seq))
            result.uploads += 1
            seq += 1
        for f in cp.file_deletions:
            lines.append(file_line(cp, f, deleted=True, removed=False, seq=seq))
            result.file_deletions += 1
            seq += 1
        if not lines and not p.files:
            result.posts_skipped += 1
            return None
        block = _Block(cp, lines, list(p.files))
        _measure(block)
        return block

    def _plan(self, channel: ChannelTranscript, blocks: list[_Block]) -> list[_Email]:
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

    def _fixed_size(self, channel: ChannelTranscript) -> tuple[int, int, int]:
        """(header and MIME frame bytes, text bytes, HTML bytes) an email of this channel has without posts."""
        counts = Counter({p.join.user.id: 10**9 for p in channel.participants})  # widest message counts
        s_text, s_html = channel.summary(0, 2)
        p_text, p_html = channel.participants_table(counts)
        text = utf8(join_text([*s_text, *p_text, "", "Messages", ""]))
        doc = utf8(join_html([*s_html, *p_html, "<h3>Messages</h3>", "<ul>", "</ul>", "</body></html>"]))
        boundary = "=_mmgov_mixed_" + channel.ident(0)
        frame = (
            len(channel.headers(0, boundary))
            + 2 * (len(boundary) + 6) * 2  # two boundary lines per multipart, twice
            + len(TEXT_HEADERS)
            + len(HTML_HEADERS)
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
            lines.append(file_line(cp, f, deleted=False, removed=True, seq=seq))
            seq += 1
        for f in cp.file_deletions:
            lines.append(file_line(cp, f, deleted=True, removed=True, seq=seq))
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
        channel: ChannelTranscript,
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
        text = join_text([*s_text, *p_text, "", "Messages", *(ln.text for ln in lines), ""])
        doc = join_html(
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
            fh.write(b"--" + mixed.encode() + CRLF)
            fh.write(part_headers([("Content-Type", "multipart/alternative", {"boundary": alt})]))
            for headers, body in ((TEXT_HEADERS, text), (HTML_HEADERS, doc)):
                fh.write(b"--" + alt.encode() + CRLF + headers)
                fh.write(b64(utf8(body)))
            fh.write(b"--" + alt.encode() + b"--" + CRLF)
            for block in email.blocks:
                for file in block.attachments:
                    self._attach(fh, mixed, file, files, result)
                if block.removed:
                    for file in block.removed:
                        result.files_skipped += 1
                        result.warn(f"Warning:{OVERSIZE_WARNING} - Post: {file.post_id} - {file.path}")
            fh.write(b"--" + mixed.encode() + b"--" + CRLF)

    @staticmethod
    def _attach(
        fh: IO[bytes], boundary: str, file: ExportedFile, files: FileSource, result: BatchResult
    ) -> None:
        """Stream one attachment as a base64 part; an unreadable file becomes a warning (no part)."""
        try:
            with files.open(file.path) as stream:
                fh.write(b"--" + boundary.encode() + CRLF + attachment_headers(file))
                copy_b64(stream, fh)
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


def _measure(block: _Block) -> None:
    # +1 per line: the newline joining it to the next one.
    block.text_bytes = sum(len(utf8(ln.text)) + 1 for ln in block.lines)
    block.html_bytes = sum(len(utf8(ln.html)) + 1 for ln in block.lines)
    block.attachment_bytes = sum(
        len(attachment_headers(f)) + b64_size(max(f.size, 0)) + 80 for f in block.attachments
    )
