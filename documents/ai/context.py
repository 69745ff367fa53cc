"""Context for an AI call (SPEC §6): documents and context files the caller may read, in workspaces where AI is on.

Every id must name something readable in such a workspace, else the whole request fails and lists the ids
(unknown and forbidden alike: nothing tells them apart). Text-like files are included; pdf, docx and xlsx, and
files whose bytes never reached the server (`local` storage), are listed as skipped. The items share a budget
of 100,000 characters, cut in proportion to their lengths.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from documents import storage
from documents.models import ContextFile, Document
from documents.selectors_attachments import file_access
from mdcreator.errors import ValidationProblem
from workspaces.access import resolve

CONTEXT_BUDGET = 100_000
TEXT_TYPES = frozenset({ContextFile.FileType.MD, ContextFile.FileType.TXT, ContextFile.FileType.CSV,
                        ContextFile.FileType.JSON})


@dataclass
class Context:
    items: list[tuple[str, str]] = field(default_factory=list)  # (label, text), in the order asked
    skipped: list[dict] = field(default_factory=list)
    truncated: bool = False
    workspace_id: object = None  # the first item's workspace: where the call's usage is attributed

    def system_text(self) -> str:
        """The context as the system message's second part."""
        if not self.items:
            return ""
        parts = [f'<context name="{label.replace(chr(34), chr(39))}">\n{text}\n</context>' for label, text in self.items]
        return "Use the following context to answer.\n\n" + "\n\n".join(parts)


def _ai_enabled(*settings_dicts) -> bool:
    return all((values or {}).get("ai_enabled", True) is not False for values in settings_dicts)


def context_for(*, user, ids: list) -> Context:
    """Resolve `ids` (UUIDs, at most 10, deduplicated in order) into the call's context."""
    ids = list(dict.fromkeys(ids))
    context, refused, texts = Context(), [], {}
    documents = {
        document.pk: document
        for document in Document.objects.filter(pk__in=ids, deleted=False).select_related("workspace")
    }
    files = {
        row.pk: row
        for row in ContextFile.objects.filter(pk__in=[i for i in ids if i not in documents], deleted_at__isnull=True)
        .select_related("document", "workspace")
    }
    for item_id in ids:
        if item_id in documents:
            document = documents[item_id]
            access = resolve(user, document)
            if access is None or not _ai_enabled(document.workspace.settings, document.settings):
                refused.append(item_id)
                continue
            texts[item_id] = (document.title or "Untitled", document.content)
            context.workspace_id = context.workspace_id or document.workspace_id
        elif item_id in files:
            row = files[item_id]
            access = file_access(row, user=user, share_token=None)
            read = "list_context_files" if row.document_id else "retrieve"
            scopes = [row.workspace.settings] + ([row.document.settings] if row.document_id else [])
            if access is None or not access.can(read) or not _ai_enabled(*scopes):
                refused.append(item_id)
                continue
            context.workspace_id = context.workspace_id or row.workspace_id
            text, reason = _file_text(row)
            if text is None:
                context.skipped.append({"id": str(row.pk), "file_name": row.file_name, "reason": reason})
            else:
                texts[item_id] = (row.file_name, text)
        else:
            refused.append(item_id)
    if refused:
        raise ValidationProblem({"context_ids": [
            "Not found, not readable, or in a workspace with AI turned off: " + ", ".join(str(i) for i in refused)
        ]})
    context.items, context.truncated = _within_budget([texts[i] for i in ids if i in texts])
    return context


def _file_text(row: ContextFile) -> tuple[str | None, str]:
    """The file's text, or None and why it is skipped."""
    if row.file_type not in TEXT_TYPES:
        return None, "not-text"
    stored = row.sync_status == ContextFile.SyncStatus.SYNCED and row.s3_key
    if row.storage_mode == ContextFile.StorageMode.LOCAL or not stored:
        return None, "not-on-server"
    try:
        data = storage.backend().read(row.s3_key)
    except FileNotFoundError:
        return None, "not-on-server"
    return data.decode("utf-8", errors="replace"), ""


def _within_budget(items: list[tuple[str, str]]) -> tuple[list[tuple[str, str]], bool]:
    """Cut every text by the same proportion so that together they fit the budget."""
    total = sum(len(text) for _, text in items)
    if total <= CONTEXT_BUDGET:
        return items, False
    return [(label, text[: len(text) * CONTEXT_BUDGET // total]) for label, text in items], True
