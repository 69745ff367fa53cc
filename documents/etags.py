"""Entity tags of documents: the strong tag `"<content_hash>"` and the lists If-Match / If-None-Match carry."""

from __future__ import annotations


def etag(content_hash: str) -> str:
    """The strong entity tag of a document's content (SPEC §3.3)."""
    return f'"{content_hash}"'


def etag_matches(header: str | None, content_hash: str) -> bool:
    """Whether an If-Match / If-None-Match list names this content: `*`, or the hash with quotes and `W/` ignored."""
    if not header:
        return False
    tags = {tag.strip().removeprefix("W/").strip('"') for tag in header.split(",")}
    return "*" in tags or content_hash in tags
