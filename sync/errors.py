"""Problems of the sync endpoints (SPEC §3.7, §4)."""

from mdcreator.errors import GoneError


class CursorExpiredError(GoneError):
    code, title = "cursor-expired", "Cursor expired"
    default_detail = "Entries after this cursor were compacted away; start again from cursor 0."
