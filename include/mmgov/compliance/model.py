"""The data model every compliance export format receives: posts, files, channels, members, a batch.

The extractor (:mod:`mmgov.compliance.extract`) builds these records from the Mattermost database;
the classifier (:mod:`mmgov.compliance.post_classifier`) turns each post row into the entries
Mattermost exports (created / edited / updated / deleted messages, uploaded and deleted files);
:mod:`mmgov.compliance.membership` adds who was in each channel. A format
(:class:`mmgov.compliance.formats.ComplianceFormat`) only renders an :class:`ExportBatch` into a zip:
it never queries the database.

All times are epoch milliseconds. Treat the records as read-only (they are plain slotted
dataclasses, not frozen ones, because building a frozen dataclass costs ~8x more and an export
builds millions); a batch holds at most ``BatchSize`` posts, so a format may keep one batch in
memory (never a whole window).
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from enum import StrEnum

from mmgov.compliance.export_window import ExportWindow


class ChannelType(StrEnum):
    """``channels.type``; the value is Mattermost's one-letter code."""

    OPEN = "O"
    PRIVATE = "P"
    DIRECT = "D"
    GROUP = "G"


_CHANNEL_TYPE_NAMES = {"O": "public", "P": "private", "D": "direct", "G": "group"}
_DM_DISPLAY_NAMES = {"D": "Direct Message", "G": "Group Message"}


class UpdateType(StrEnum):
    """What a message entry records (CSV ``Post Update Type``, Actiance ``UpdatedType``)."""

    CREATED = ""  # a plain new post (or the "created" entry of a post deleted in the same window)
    EDITED_ORIGINAL = "EditedOriginalMsg"  # the old text of an edit (a row with originalid, deleteat > 0)
    EDITED_NEW = "EditedNewMsg"  # the edited post itself (new text, editat > 0)
    UPDATED_NO_MSG_CHANGE = "UpdatedNoMsgChange"  # reaction, reply, pin...: updateat moved, text did not
    DELETED = "Deleted"  # a post deleted by a user (props.deleteBy); message is "delete <text>"
    FILE_DELETED = "FileDeleted"  # an attachment deleted (fileinfo.deleteat > 0)


class MemberEventKind(StrEnum):
    """Channel membership entries (CSV ``Post Type`` of membership rows)."""

    ENTER = "enter"  # joined inside the batch's time range
    PREVIOUSLY_JOINED = "previously-joined"  # already in the channel when the batch's range starts
    LEAVE = "leave"  # left inside the batch's time range


@dataclass(slots=True)
class ChannelInfo:
    """A channel and its team (team fields are empty strings for DMs and GMs)."""

    id: str
    name: str
    display_name: str  # channels.displayname as stored (often empty for DMs)
    type: str  # one-letter code, see ChannelType
    team_id: str = ""
    team_name: str = ""
    team_display_name: str = ""

    @property
    def type_name(self) -> str:
        """``public``, ``private``, ``direct`` or ``group`` (CSV ``Channel Type``); a type this version
        does not know (Mattermost adds types, 11.8 does) is named by its raw value (Mattermost: empty)."""
        return _CHANNEL_TYPE_NAMES.get(self.type, self.type)

    @property
    def has_unknown_type(self) -> bool:
        """A ``channels.type`` this version does not know (not an empty one: a post without its channel row)."""
        return self.type != "" and self.type not in _CHANNEL_TYPE_NAMES

    @property
    def export_display_name(self) -> str:
        """The name exports show: ``Direct Message`` / ``Group Message`` for DMs/GMs, else the display name."""
        return _DM_DISPLAY_NAMES.get(self.type, self.display_name)

    @property
    def is_direct_or_group(self) -> bool:
        return self.type in _DM_DISPLAY_NAMES

    @property
    def room_id(self) -> str:
        """``<type name> - <channel id>`` (metadata.json ``RoomId``)."""
        return f"{self.type_name} - {self.id}"


@dataclass(slots=True)
class UserInfo:
    """A post author or channel member. ``is_bot``: a ``bots`` row exists (or the post says from_bot)."""

    id: str
    username: str
    email: str
    is_bot: bool = False
    delete_at: int = 0  # > 0: deactivated at that time (their posts are still exported)

    @property
    def user_type(self) -> str:
        """``bot`` or ``user`` (CSV ``User Type``, Actiance ``UserType``)."""
        return "bot" if self.is_bot else "user"


@dataclass(slots=True)
class ExportedFile:
    """One ``fileinfo`` row of an exported post (deleted files included: ``delete_at > 0``)."""

    id: str
    post_id: str
    name: str  # fileinfo.name: the name the user uploaded
    path: str  # fileinfo.path: relative to the file store root (never trusted: see file_store)
    size: int = 0
    mime_type: str = ""
    extension: str = ""
    create_at: int = 0
    update_at: int = 0
    delete_at: int = 0
    creator_id: str = ""

    @property
    def basename(self) -> str:
        """The last component of ``path`` (Go's ``path.Base``)."""
        return posixpath.basename(self.path.rstrip("/")) or "."

    @property
    def zip_name(self) -> str:
        """``files/<postId>/<fileId>-<basename(path)>``: where CSV (and others) store the content."""
        return f"files/{self.post_id}/{self.id}-{self.basename}"

    @property
    def is_deleted(self) -> bool:
        return self.delete_at > 0


@dataclass(slots=True)
class PostRecord:
    """One ``posts`` row of the window (system posts are never selected), joined with its channel and author.

    ``files`` are all ``fileinfo`` rows whose ``postid`` is this post's id, ordered by (createat, id).
    """

    id: str
    create_at: int
    update_at: int
    delete_at: int
    edit_at: int
    user: UserInfo
    channel: ChannelInfo
    root_id: str
    original_id: str
    message: str
    type: str  # posts.type: "" normal, "slack_attachment", "custom_*" (plugins), ...
    deleted_by: str | None = None  # props.deleteBy (the deleting user's id); None when the key is absent
    previewed_post: str = ""  # props.previewed_post (permalink preview)
    from_webhook: bool = False
    from_bot: bool = False
    from_plugin: bool = False
    override_username: str = ""
    webhook_display_name: str = ""
    files: tuple[ExportedFile, ...] = ()


@dataclass(slots=True)
class MessageEntry:
    """One exported message entry of a post (a post yields one, or two when deleted inside the window)."""

    post: PostRecord
    update_type: UpdateType
    message: str  # the text to export ("delete <text>" for Deleted)
    update_at: int  # when the change happened: updateat, or deleteat for Deleted

    @property
    def edited_new_msg_id(self) -> str:
        """For ``EditedOriginalMsg``: the id of the post that now holds the edited text (``originalid``)."""
        return self.post.original_id if self.update_type is UpdateType.EDITED_ORIGINAL else ""


@dataclass(slots=True)
class ClassifiedPost:
    """A post row with its entries, in Mattermost's order: messages, then uploads, then file deletions.

    ``uploads``: files recorded as uploaded with this post (a file deleted later is still an upload
    when the post's "created" entry is exported). ``file_deletions``: files whose deletion is recorded
    (``FileDeleted``, time = ``file.delete_at``). ``post.files`` is every file of the post: a format that
    copies contents copies each of them once (missing ones become warnings).
    """

    post: PostRecord
    messages: tuple[MessageEntry, ...]
    uploads: tuple[ExportedFile, ...] = ()
    file_deletions: tuple[ExportedFile, ...] = ()


@dataclass(slots=True)
class MemberEvent:
    """A channel membership entry. ``time``: join time (enter / previously-joined) or leave time.

    ``left_at`` on a join: when that membership ended, or ``None`` if it lasted past the batch
    (Global Relay's participant table needs it). ``synthetic``: a post author missing from
    ``channelmemberhistory``, given a join at the batch start; ``from_current_members``: the fallback
    for databases whose history does not reach back to the window start.
    """

    user: UserInfo
    kind: MemberEventKind
    time: int
    left_at: int | None = None
    synthetic: bool = False
    from_current_members: bool = False


@dataclass(frozen=True, slots=True)
class MembersDelta:
    """How a batch's ``joins`` were built, for formats that render membership incrementally (Actiance).

    ``joins`` is ``prefix`` (the members present at the batch start, previously joined), where the
    members at the positions ``leaving`` carry their ``left_at`` (they leave inside the batch),
    followed by the events that enter inside the batch. ``prefix`` is a list object kept while it does
    not change; when it changes, it is ``parent`` (the previous prefix object of the channel) without
    the positions ``removed`` (ascending) and with ``appended`` events at its end. ``parent`` is None
    for a prefix built from nothing. Read-only, like ``joins``.
    """

    prefix: list[MemberEvent]
    parent: list[MemberEvent] | None
    removed: tuple[int, ...]
    appended: int
    leaving: tuple[int, ...]


@dataclass(slots=True)
class ChannelActivity:
    """A channel active in the batch (posts, or joins/leaves in the batch's range) and its membership.

    ``joins`` are sorted by (time, email); ``leaves`` (real leaves inside the range) by (time, email).
    Members still present at the batch end have no leave: formats that need a closing leave
    (Actiance) add it at ``ExportBatch.end_ms`` in their own list. Read-only: ``joins`` may be the
    very list object of the previous batch (membership unchanged), shared on purpose. ``delta``:
    how ``joins`` derive from the channel's previous batch (:class:`MembersDelta`); None when the
    membership source cannot tell (synthetic joins of post authors, activities built by hand).
    """

    channel: ChannelInfo
    joins: list[MemberEvent] = field(default_factory=list)
    leaves: list[MemberEvent] = field(default_factory=list)
    delta: MembersDelta | None = None


# A post without files (all its message entries) as the database rendered it for a format with an
# accelerator (``ComplianceFormat.accelerator``): the row as read,
# ``(id, time, updateat, entries, from_bot, userid, channelid, rendering)``, ``time`` being the
# post's createat or 0 unless the format orders by another time (``SqlRendering.time``; see
# mmgov.compliance.post_reader.rendered_post_query), ``entries`` its number of message entries.
# Its channel is ``batch.channel_of[channelid]``,
# its author ``batch.author_of[userid][from_bot]``. Rows, not records: an export reads millions.
RenderedPost = tuple[str, int, int, int, bool, str | None, str | None, bytes]


@dataclass(slots=True)
class ExportBatch:
    """One batch: at most ``BatchSize`` post rows in (updateat, id) order, and their channels.

    Time range: ``[start_ms, end_ms)`` for membership events; ``start_ms`` is the window start
    (first batch) or the previous batch's last ``updateat``; ``end_ms`` is this batch's last
    ``updateat``, or the window end for the last batch. ``number`` is 1-based. The batch's post rows
    are ``posts`` plus ``rendered`` (empty unless the format asked for database rendering).
    """

    number: int
    window: ExportWindow  # the run's window, half-open [start_ms, end_ms) on posts.updateat
    start_ms: int
    end_ms: int
    posts: list[ClassifiedPost]
    channels: dict[str, ChannelActivity]  # channel id -> activity, every channel of this batch
    is_last: bool = False
    # Plain posts the database rendered for the format (only for a format with
    # ``ComplianceFormat.accelerator``; see RenderedPost). ``posts`` then holds the others.
    rendered: list[RenderedPost] = field(default_factory=list)
    # channel id -> channel, author id -> (author, author as a bot): for ``rendered`` rows
    channel_of: dict[str | None, ChannelInfo] = field(default_factory=dict)
    author_of: dict[str | None, tuple[UserInfo, UserInfo]] = field(default_factory=dict)
    zip_prefix: str = ""  # "late-" for a late batch (post versions of earlier windows)

    @property
    def zip_name(self) -> str:
        """``batchNNN-<startMs>-<endMs>.zip`` (3 digits, 1-based), stable across re-runs; a late batch:
        ``late-batchNNN-<spanStart>-<spanEnd>.zip`` (the span of earlier windows its posts belong to)."""
        return f"{self.zip_prefix}batch{self.number:03d}-{self.start_ms}-{self.end_ms}.zip"

    def files(self) -> list[ExportedFile]:
        """Every file of every post of the batch, in post order."""
        return [f for cp in self.posts for f in cp.post.files]
