"""The post stream: every kind of post Mattermost stores, placed inside membership windows.

Posts are produced as a generator of COPY text chunks, never as a list. What hangs off posts
(files, reactions, flags, threads, channel statistics) is collected on the side while streaming
and loaded after. Rows are counted as they are emitted, so the total is exactly ``posts``: the
system join/leave posts first, then "units" (a post with its edit-history rows, a thread, a burst
of posts sharing one millisecond, ...) until the budget is spent. A forced schedule at the start
makes every kind and context appear even in small workspaces.

Over 400 lines on purpose: :class:`PostStream` is one generator whose units share the running
budget, the membership windows and the side collections; split, each piece would need all of them.
"""

from __future__ import annotations

import json
import random
import time
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterator

from mmgov_dev.synth.config import ResolvedConfig
from mmgov_dev.synth.copy_loader import CHUNK_LINES, esc
from mmgov_dev.synth.files import FILE_KINDS, KIND_TABLE, PNG_VARIANTS, BlobTask, blob_size
from mmgov_dev.synth.messages import MessagePool
from mmgov_dev.synth.model import DAY, HOUR, MINUTE, Channel, User, Window, Workspace
from mmgov_dev.synth.vocabulary import BOT_MESSAGES, BUILTIN_EMOJI, HEADERS, PLUGIN_POSTS, WEBHOOKS
from mmgov_dev.synth.workspace import channel_weights

POST_COLUMNS = (
    "id", "createat", "updateat", "deleteat", "userid", "channelid", "rootid", "originalid", "message",
    "type", "props", "hashtags", "filenames", "fileids", "hasreactions", "editat", "ispinned", "remoteid",
)  # fmt: skip
FILE_COLUMNS = (
    "id", "creatorid", "postid", "createat", "updateat", "deleteat", "path", "thumbnailpath", "previewpath",
    "name", "extension", "size", "mimetype", "width", "height", "haspreviewimage", "minipreview", "content",
    "remoteid", "archived", "channelid",
)  # fmt: skip
REACTION_COLUMNS = (
    "userid",
    "postid",
    "emojiname",
    "createat",
    "updateat",
    "deleteat",
    "remoteid",
    "channelid",
)
THREAD_COLUMNS = (
    "postid",
    "replycount",
    "lastreplyat",
    "participants",
    "channelid",
    "threaddeleteat",
    "threadteamid",
)
THREAD_MEMBER_COLUMNS = ("postid", "userid", "following", "lastviewed", "lastupdated", "unreadmentions")

# Relative frequency of each unit kind after the forced schedule.
KIND_WEIGHTS: dict[str, float] = {
    "plain": 50.0,
    "cluster": 6.0,
    "thread": 12.0,
    "edit": 5.0,
    "delete": 2.0,
    "delete_thread": 0.6,
    "react": 7.0,
    "pin": 1.2,
    "webhook": 3.0,
    "bot": 3.0,
    "plugin": 1.0,
    "preview": 1.2,
    "control": 0.3,
    "header": 0.2,
    "edit_remove_file": 0.2,
}
FORCED_CONTEXTS: tuple[tuple[str, str, int], ...] = (
    ("plain", "dm", 3),
    ("plain", "self_dm", 2),
    ("plain", "dm_deact", 2),
    ("plain", "bot_dm", 1),
    ("plain", "gm", 2),
    ("plain", "gm8", 2),
    ("plain", "private", 3),
    ("plain", "archived", 3),
    ("plain", "deact", 3),
    ("plain", "guest", 2),
    ("thread", "dm", 1),
    ("thread", "gm", 1),
    ("thread", "private", 1),
    ("thread", "archived", 1),
    ("edit", "private", 1),
    ("cluster", "gm8", 1),
    ("react", "dm", 1),
    ("files", None, 8),
    ("delete_files", None, 3),
    ("control", None, 4),
)
EDIT_GAP = 30 * MINUTE
REACT_GAP = 2 * HOUR
REPLY_GAP = 40 * MINUTE
FLAG_RATE = 0.02
RECENT = 512


def system_post_count(ws: Workspace) -> int:
    """Join and leave posts the stream will emit for ``ws`` (public and private channels)."""
    return sum(
        len(ch.history) + sum(1 for h in ch.history if h.leave is not None)
        for ch in ws.channels
        if ch.type in ("O", "P")
    )


def _fileids(fids: list[str]) -> str:
    return '["' + '","'.join(fids) + '"]' if fids else "[]"


def _with_prop(props: str, key: str, value: str) -> str:
    return f'{{"{key}":"{value}"}}' if props == "{}" else f'{props[:-1]},"{key}":"{value}"}}'


class PostStream:
    """Generates posts as COPY text; collects files, reactions, flags and threads on the side."""

    def __init__(
        self,
        ws: Workspace,
        cfg: ResolvedConfig,
        rng: random.Random,
        new_id: Callable[[], str],
        pool: MessagePool,
    ) -> None:
        self.ws, self.rng, self.new_id, self.pool = ws, rng, new_id, pool
        self.ratio = cfg.attachment_ratio
        self.remaining = cfg.posts
        self.out: list[str] = []
        self.file_lines: list[str] = []
        self.blobs: list[BlobTask] = []
        self.blob_file_ids: list[str] = []
        self.live_blobs: list[int] = []
        self.reaction_lines: list[str] = []
        self.flag_lines: list[str] = []
        # root id -> (channel, participant ids, reply count, last reply at, thread delete at)
        self.threads: dict[str, tuple[Channel, list[str], int, int, int]] = {}
        self.kinds: Counter[str] = Counter()
        self.rows: Counter[str] = Counter()
        self.recent: list[str] = []
        self._recent_n = 0
        self._webhook_n = 0
        self._days: dict[int, str] = {}
        self.admin = ws.users[0]
        self.emoji_names = list(BUILTIN_EMOJI) + [e.name for e in ws.emoji if not e.deleteat]
        self.webhooks = [
            (
                esc(text),
                json.dumps({"fallback": text, "color": "#d24b4e", "text": text}, ensure_ascii=False),
                f'{{"from_webhook":"true","override_icon_url":"https://example.com/hook.png",'
                f'"override_username":"{user}","webhook_display_name":"{display}"}}',
            )
            for user, display, text in WEBHOOKS
        ]
        weights = channel_weights(ws.channels, rng)
        self._all = self._table([(c, w) for c, w in zip(ws.channels, weights, strict=True) if c.windows])
        self._open = self._table(
            [(c, w) for c, w in zip(ws.channels, weights, strict=True) if c.windows and c.type in ("O", "P")]
        )
        self._botc = [c for c in ws.channels if c.bot_windows]
        self._ctx = self._contexts()
        self._units: dict[str, Callable[[str | None], None]] = {
            "plain": self._u_plain,
            "files": self._u_files,
            "cluster": self._u_cluster,
            "thread": self._u_thread,
            "edit": self._u_edit,
            "edit_remove_file": self._u_edit_remove_file,
            "delete": self._u_delete,
            "delete_files": self._u_delete_files,
            "delete_thread": self._u_delete_thread,
            "react": self._u_react,
            "pin": self._u_pin,
            "webhook": self._u_webhook,
            "bot": self._u_bot,
            "plugin": self._u_plugin,
            "preview": self._u_preview,
            "control": self._u_control,
            "header": self._u_header,
        }
        forced: list[tuple[str, str | None]] = [(k, None) for k in KIND_WEIGHTS for _ in range(3)]
        forced += [(k, ctx) for k, ctx, n in FORCED_CONTEXTS for _ in range(n)]
        rng.shuffle(forced)
        self.forced = forced
        total = sum(KIND_WEIGHTS.values())
        self.kind_table = [k for k, w in KIND_WEIGHTS.items() for _ in range(max(1, round(w / total * 4096)))]

    # -- selection helpers ------------------------------------------------------------------
    @staticmethod
    def _table(pairs: list[tuple[Channel, float]]) -> tuple[list[Channel], list[float]]:
        cum, total = [], 0.0
        for _c, w in pairs:
            total += w
            cum.append(total)
        return [c for c, _w in pairs], cum

    def _contexts(self) -> dict[str, list[tuple[Channel, Window]]]:
        h = self.ws.handles
        by_id = {c.id: c for c in self.ws.channels}

        def windows(
            chans: list[Channel], keep: Callable[[Window], bool] = lambda w: True
        ) -> list[tuple[Channel, Window]]:
            return [(c, w) for c in chans for w in c.windows if keep(w)]

        chans = self.ws.channels
        team_chans = [c for c in chans if c.team is not None]
        ctx = {
            "dm": windows([c for c in chans if c.type == "D" and len(c.history) == 2 and not c.bot_windows]),
            "self_dm": windows([by_id[h["self_dm_channel_id"]]]),
            "dm_deact": windows([by_id[h["dm_with_deactivated_channel_id"]]], lambda w: w[0].deleteat > 0),
            "bot_dm": windows([by_id[h["bot_dm_channel_id"]]]),
            "gm": windows([c for c in chans if c.type == "G" and len(c.history) == 3]),
            "gm8": windows([c for c in chans if c.type == "G" and len(c.history) == 8]),
            "private": windows([c for c in chans if c.type == "P" and not c.deleteat]),
            "archived": windows([c for c in chans if c.deleteat]),
            "deact": windows(team_chans, lambda w: w[0].deleteat > 0),
            "guest": windows(team_chans, lambda w: w[0].is_guest),
        }
        return {k: v for k, v in ctx.items() if v}

    def _pick_channel(self, table: tuple[list[Channel], list[float]]) -> Channel:
        chans, cum = table
        return chans[bisect_right(cum, self.rng.random() * cum[-1])]

    def _pick_window(self, ch: Channel) -> Window:
        return ch.windows[bisect_right(ch.wcum, self.rng.random() * ch.wcum[-1])]

    def _place(
        self, ctx: str | None, table: tuple[list[Channel], list[float]] | None = None
    ) -> tuple[Channel, Window, int]:
        rng = self.rng
        if ctx is not None and ctx in self._ctx:
            options = self._ctx[ctx]
            ch, w = options[rng.getrandbits(20) % len(options)]
        else:
            ch = self._pick_channel(table or self._all)
            w = self._pick_window(ch)
        return ch, w, w[1] + int(rng.random() * (w[2] - w[1]))

    def _member_at(self, ch: Channel, t: int, tries: int = 6) -> Window | None:
        for _ in range(tries):
            w = self._pick_window(ch)
            if w[1] <= t <= w[2]:
                return w
        return None

    def _later(self, t: int, limit: int, mean: float) -> int:
        """A time in (t, limit], usually ``mean`` after ``t`` (caller ensures limit > t)."""
        return t + 1 + int(min(limit - t - 1, self.rng.expovariate(1.0 / mean)))

    def _day(self, t: int) -> str:
        d = t // DAY
        s = self._days.get(d)
        if s is None:
            s = self._days[d] = time.strftime("%Y%m%d", time.gmtime(d * 86400))
        return s

    # -- rows -------------------------------------------------------------------------------
    def _row(
        self,
        pid: str,
        t: int,
        upd: int,
        dele: int,
        user: User,
        ch: Channel,
        root: str,
        orig: str,
        msg: str,
        typ: str,
        props: str,
        fileids: str,
        hasr: bool,
        editat: int,
        pinned: bool,
    ) -> None:
        self.out.append(
            f"{pid}\t{t}\t{upd}\t{dele}\t{user.id}\t{ch.id}\t{root}\t{orig}\t{msg}\t{typ}\t{props}\t\t[]\t"
            f"{fileids}\t{'t' if hasr else 'f'}\t{editat}\t{'t' if pinned else 'f'}\t\n"
        )
        self.remaining -= 1
        if not orig:
            ch.total += 1
            if t > ch.lastpostat:
                ch.lastpostat = t
            if not root:
                ch.totalroot += 1
                if t > ch.lastrootpostat:
                    ch.lastrootpostat = t

    def _post(
        self,
        ch: Channel,
        w: Window,
        t: int,
        *,
        root: str = "",
        msg: str | None = None,
        typ: str = "",
        props: str = "{}",
        nfiles: int = -1,
        edits: int = 0,
        react: int = 0,
        pin: bool = False,
        delete_at: int = 0,
        delete_by: str = "",
        remove_file: bool = False,
    ) -> str:
        rng = self.rng
        user = w[0]
        pid = self.new_id()
        if msg is None:
            msg = self.pool.pick()
        if nfiles < 0:
            nfiles = 0
            if rng.random() < self.ratio:
                nfiles = 1 + (rng.random() < 0.35) + (rng.random() < 0.1)
        if remove_file and nfiles < 2:
            nfiles = 2
        fids = [self.new_id() for _ in range(nfiles)]
        fdel = [0] * nfiles
        final = fids
        upd, editat, hasr, pinned = t, 0, False, False
        if delete_at:
            upd = delete_at
            props = _with_prop(props, "deleteBy", delete_by)
            fdel = [delete_at] * nfiles
        elif edits and self.remaining > 1 and w[2] - t > 2:
            e, prev, old = t, 0, msg
            for k in range(min(edits, self.remaining - 1)):
                if w[2] - e < 2:
                    break
                e = self._later(e, w[2], EDIT_GAP)
                history = final
                if remove_file and k == 0:
                    final = fids[:-1]
                    fdel[-1] = e
                self._row(self.new_id(), t, e, e, user, ch, root, pid, old, typ, props, _fileids(history),
                          False, prev, False)  # fmt: skip
                self.rows["edit_history"] += 1
                new = self.pool.pick()
                while new in (old, msg):
                    new = self.pool.pick()
                old, prev = new, e
            msg, editat, upd = old, prev, prev
        else:
            if react and ch.end - t > 2:
                seen: list[tuple[str, str]] = []
                names = self.emoji_names
                for _ in range(react):
                    tr = self._later(t, ch.end, REACT_GAP)
                    rw = self._member_at(ch, tr)
                    if rw is None:
                        continue
                    key = (rw[0].id, names[rng.getrandbits(16) % len(names)])
                    if key in seen:
                        continue
                    seen.append(key)
                    self.reaction_lines.append(f"{key[0]}\t{pid}\t{key[1]}\t{tr}\t{tr}\t0\t\t{ch.id}\n")
                    hasr = True
                    if tr > upd:
                        upd = tr
            if pin and ch.end - t > 2:
                pinned = True
                upd = max(upd, self._later(t, ch.end, DAY))
        self._row(
            pid, t, upd, delete_at, user, ch, root, "", msg, typ, props, _fileids(final), hasr, editat, pinned
        )
        for i, fid in enumerate(fids):
            self._file(fid, pid, user, ch, t, fdel[i], live=not delete_at and not fdel[i])
        if not delete_at:
            if rng.random() < FLAG_RATE:
                self._flag(ch, pid, t)
            if not root and not typ:
                if len(self.recent) < RECENT:
                    self.recent.append(pid)
                else:
                    self.recent[self._recent_n % RECENT] = pid
                self._recent_n += 1
        return pid

    def _file(self, fid: str, pid: str, user: User, ch: Channel, t: int, fdel: int, *, live: bool) -> None:
        rng = self.rng
        kind_i = KIND_TABLE[rng.getrandbits(6)]
        kind = FILE_KINDS[kind_i]
        name = kind.names[rng.getrandbits(8) % len(kind.names)]
        variant = rng.getrandbits(8) % len(PNG_VARIANTS) if kind_i == 0 else 0
        size = blob_size(kind_i, variant, 200 + int(rng.random() * 6000))
        team = ch.team.id if ch.team is not None else "noteam"
        folder = f"{self._day(t)}/teams/{team}/channels/{ch.id}/users/{user.id}/{fid}/"
        path = folder + name
        if kind.image:
            stem = name.rsplit(".", 1)[0]
            thumb, preview = f"{folder}{stem}_thumb.jpg", f"{folder}{stem}_preview.jpg"
            width, height = (PNG_VARIANTS[variant][0], PNG_VARIANTS[variant][1]) if kind_i == 0 else (1, 1)
        else:
            thumb = preview = ""
            width = height = 0
        self.file_lines.append(
            f"{fid}\t{user.id}\t{pid}\t{t}\t{fdel or t}\t{fdel}\t{path}\t{thumb}\t{preview}\t{name}\t"
            f"{kind.extension}\t{size}\t{kind.mimetype}\t{width}\t{height}\t{'t' if kind.image else 'f'}\t"
            f"\\N\t\t\tf\t{ch.id}\n"
        )
        if live:
            self.live_blobs.append(len(self.blobs))
        self.blobs.append((path, kind_i, variant, fid, size, thumb, preview))
        self.blob_file_ids.append(fid)

    def _flag(self, ch: Channel, pid: str, t: int) -> None:
        current = ch.current
        for _ in range(3 if current else 0):
            h = current[self.rng.getrandbits(20) % len(current)]
            if h.join <= t:
                self.flag_lines.append(f"{h.user.id}\tflagged_post\t{pid}\ttrue\n")
                return

    def _system(self, ch: Channel, user: User, t: int, typ: str, verb: str) -> None:
        props = f'{{"username":"{user.username}"}}'
        msg = f"{user.username} {verb} the channel."
        self._row(self.new_id(), t, t, 0, user, ch, "", "", msg, typ, props, "[]", False, 0, False)
        self.rows[typ] += 1

    # -- units ------------------------------------------------------------------------------
    def _u_plain(self, ctx: str | None) -> None:
        ch, w, t = self._place(ctx)
        self._post(ch, w, t)

    def _u_files(self, ctx: str | None) -> None:
        ch, w, t = self._place(ctx)
        self._post(ch, w, t, nfiles=1 + self.rng.getrandbits(1))

    def _u_cluster(self, ctx: str | None) -> None:
        ch, w, t = self._place(ctx)
        for i in range(2 + self.rng.getrandbits(2)):
            if self.remaining <= 0:
                return
            self._post(ch, w if i == 0 else (self._member_at(ch, t) or w), t)

    def _thread(self, ctx: str | None, *, deleted: bool) -> None:
        rng = self.rng
        ch, w, t = self._place(ctx)
        delete_at, by = 0, ""
        if deleted and ch.end - t > 2:
            delete_at = self._later(t, ch.end, 2 * DAY)
            by = w[0].id if delete_at <= w[2] else self.admin.id
        root = self._post(ch, w, t, delete_at=delete_at, delete_by=by)
        limit = delete_at - 1 if delete_at else ch.end
        participants, count, rt, last = [w[0].id], 0, t, t
        for _ in range(1 + min(40, int(rng.expovariate(1 / 3.0)))):
            if self.remaining <= 0:
                break
            rt += 1 + int(rng.expovariate(1.0 / REPLY_GAP))
            if rt > limit:
                break
            covers = w[1] <= rt <= w[2]
            rw = w if covers and rng.random() < 0.3 else (self._member_at(ch, rt) or (w if covers else None))
            if rw is None:
                continue
            self._post(ch, rw, rt, root=root, delete_at=delete_at, delete_by=by,
                       edits=int(not delete_at and rng.random() < 0.03))  # fmt: skip
            count, last = count + 1, rt
            if rw[0].id not in participants:
                participants.append(rw[0].id)
        if count:
            self.threads[root] = (ch, participants, count, last, delete_at)

    def _u_thread(self, ctx: str | None) -> None:
        self._thread(ctx, deleted=False)

    def _u_delete_thread(self, ctx: str | None) -> None:
        self._thread(ctx, deleted=True)

    def _u_edit(self, ctx: str | None) -> None:
        ch, w, t = self._place(ctx)
        self._post(ch, w, t, edits=1 + (self.rng.random() < 0.25))

    def _u_edit_remove_file(self, ctx: str | None) -> None:
        ch, w, t = self._place(ctx)
        self._post(ch, w, t, edits=1, remove_file=True)

    def _delete(self, ctx: str | None, nfiles: int) -> None:
        ch, w, t = self._place(ctx)
        if ch.end - t <= 2:
            self._post(ch, w, t, nfiles=nfiles)
            return
        at = self._later(t, ch.end, DAY)
        by = w[0].id if at <= w[2] and self.rng.random() < 0.8 else self.admin.id
        self._post(ch, w, t, delete_at=at, delete_by=by, nfiles=nfiles)

    def _u_delete(self, ctx: str | None) -> None:
        self._delete(ctx, -1)

    def _u_delete_files(self, ctx: str | None) -> None:
        self._delete(ctx, 1 + self.rng.getrandbits(1))

    def _u_react(self, ctx: str | None) -> None:
        ch, w, t = self._place(ctx)
        self._post(ch, w, t, react=1 + self.rng.getrandbits(2))

    def _u_pin(self, ctx: str | None) -> None:
        ch, w, t = self._place(ctx)
        self._post(ch, w, t, pin=True, react=int(self.rng.random() < 0.3))

    def _u_webhook(self, ctx: str | None) -> None:
        ch, w, t = self._place(None, self._open)
        text, attachment, props = self.webhooks[self.rng.getrandbits(8) % len(self.webhooks)]
        n = str(self.rng.randrange(1, 10_000))
        self._webhook_n += 1
        if self._webhook_n % 3 == 2:
            props = esc(f'{props[:-1]},"attachments":[{attachment.replace("{n}", n)}]}}')
            self._post(ch, w, t, msg="", typ="slack_attachment", props=props, nfiles=0)
        else:
            self._post(ch, w, t, msg=text.replace("{n}", n), props=props, nfiles=0)

    def _bot_place(self) -> tuple[Channel, Window, int]:
        rng = self.rng
        ch = self._botc[rng.getrandbits(20) % len(self._botc)]
        w = ch.bot_windows[rng.getrandbits(20) % len(ch.bot_windows)]
        return ch, w, w[1] + int(rng.random() * (w[2] - w[1]))

    def _u_bot(self, ctx: str | None) -> None:
        ch, w, t = self._bot_place()
        text = BOT_MESSAGES[self.rng.getrandbits(8) % len(BOT_MESSAGES)].replace("{n}", str(t % 9973))
        self._post(ch, w, t, msg=esc(text), props='{"from_bot":"true"}', nfiles=0)

    def _u_plugin(self, ctx: str | None) -> None:
        ch, w, t = self._bot_place()
        typ, text = PLUGIN_POSTS[self.rng.getrandbits(8) % len(PLUGIN_POSTS)]
        self._post(ch, w, t, msg=esc(text.replace("{n}", str(t % 997))), typ=typ,
                   props='{"from_plugin":"true"}', nfiles=0)  # fmt: skip

    def _u_preview(self, ctx: str | None) -> None:
        if not self.recent:
            self._u_plain(ctx)
            return
        ch, w, t = self._place(ctx)
        target = self.recent[self.rng.getrandbits(20) % len(self.recent)]
        team = ch.team.name if ch.team is not None else "messages"
        msg = f"Have a look: https://chat.example.com/{team}/pl/{target}"
        self._post(ch, w, t, msg=msg, props=f'{{"previewed_post":"{target}"}}')

    def _u_control(self, ctx: str | None) -> None:
        ch, w, t = self._place(ctx)
        self._post(ch, w, t, msg=self.pool.control(), nfiles=0)

    def _u_header(self, ctx: str | None) -> None:
        ch, w, t = self._place(None, self._open)
        user = w[0]
        new = self.rng.choice(HEADERS[2:])
        old = ch.header
        props = json.dumps({"username": user.username, "old_header": old, "new_header": new})
        text = f"@{user.username} updated the channel header from: {old} to: {new}"
        self._row(self.new_id(), t, t, 0, user, ch, "", "", esc(text), "system_header_change", esc(props), "[]",
                  False, 0, False)  # fmt: skip
        self.rows["system_header_change"] += 1
        if t > ch.header_at:
            ch.header, ch.header_at = new, t

    # -- the stream -------------------------------------------------------------------------
    def chunks(self) -> Iterator[str]:
        """Yield the posts as COPY text chunks until exactly ``posts`` rows were produced."""
        out = self.out
        for ch in self.ws.channels:
            if ch.type not in ("O", "P"):
                continue
            for h in ch.history:
                self._system(ch, h.user, h.join, "system_join_channel", "joined")
                if h.leave is not None:
                    self._system(ch, h.user, h.leave, "system_leave_channel", "left")
            if len(out) >= CHUNK_LINES:
                yield "".join(out)
                out.clear()
        units, kinds = self._units, self.kinds
        for kind, ctx in self.forced:
            if self.remaining <= 0:
                break
            units[kind](ctx)
            kinds[kind] += 1
            if len(out) >= CHUNK_LINES:
                yield "".join(out)
                out.clear()
        table, rnd = self.kind_table, self.rng.random
        n = len(table)
        while self.remaining > 0:
            kind = table[int(rnd() * n)]
            units[kind](None)
            kinds[kind] += 1
            if len(out) >= CHUNK_LINES:
                yield "".join(out)
                out.clear()
        if out:
            yield "".join(out)
            out.clear()

    # -- what hangs off the posts -----------------------------------------------------------
    def missing_blobs(self, n: int) -> list[int]:
        """Indices of ``n`` attachment blobs to leave unwritten, spread over the span."""
        pool = self.live_blobs if len(self.live_blobs) >= n else list(range(len(self.blobs)))
        if n <= 0 or not pool:
            return []
        n = min(n, len(pool))
        step = len(pool) / n
        return [pool[int((i + 0.5) * step)] for i in range(n)]

    def thread_lines(self) -> Iterator[str]:
        """``threads`` rows."""
        for root, (ch, participants, count, last, deleteat) in self.threads.items():
            people = '["' + '","'.join(participants) + '"]'
            yield f"{root}\t{count}\t{last}\t{people}\t{ch.id}\t{deleteat}\t{ch.teamid}\n"

    def thread_member_lines(self) -> Iterator[str]:
        """``threadmemberships`` rows: every participant follows the thread."""
        for root, (_ch, participants, _count, last, _deleteat) in self.threads.items():
            for uid in participants:
                yield f"{root}\t{uid}\tt\t{last}\t{last}\t0\n"
