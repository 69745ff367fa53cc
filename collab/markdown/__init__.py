"""Markdown <-> the editor's ProseMirror nodes <-> the Yjs `content` fragment (SPEC §5.4, §5.7)."""

from collab.markdown.merge import merge_markdown
from collab.markdown.parse import parse_markdown
from collab.markdown.serialize import serialize_markdown
from collab.markdown.yxml import content_fragment, fragment_to_markdown, markdown_to_update, read_blocks, write_blocks

__all__ = [
    "content_fragment",
    "fragment_to_markdown",
    "markdown_to_update",
    "merge_markdown",
    "parse_markdown",
    "read_blocks",
    "serialize_markdown",
    "write_blocks",
]
