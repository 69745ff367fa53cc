"""compact_collab_updates and rematerialize_content (SPEC §8)."""

import uuid
from io import StringIO

import pycrdt
import pytest
from django.core.management import CommandError, call_command

from collab import store
from collab.markdown import fragment_to_markdown
from collab.models import CollabState, CollabUpdate
from collab.tests.live import stored_doc
from documents.models import Document
from documents.services.documents import document_create

pytestmark = pytest.mark.django_db


def _document(team, text):
    return document_create(actor=team.user("owner"), workspace=team.workspace, data={"title": "C", "content": text})


def _edit(document, suffix, user):
    doc = stored_doc(document.pk)
    before = doc.get_state()
    run = doc.get("content", type=pycrdt.XmlFragment).children[0].children[0]
    run.insert(len(run), suffix)
    store.append_updates(document.pk, [(doc.get_update(before), user.pk)])


def _fingerprint(document_id):
    doc = stored_doc(document_id)
    return doc.get_state(), fragment_to_markdown(doc.get("content", type=pycrdt.XmlFragment))


def _run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_commands_collab_compact_one_document(team):
    first, second = _document(team, "First\n"), _document(team, "Second\n")
    for document in (first, second):
        store.ensure_state(document.pk)
        for index in range(3):
            _edit(document, f" {index}", team.user("editor"))
    before = _fingerprint(first.pk)
    output = _run("compact_collab_updates", "--document", str(first.pk))
    assert output.strip() == "Compacted 1 document(s); merged 3 update(s)."
    assert _fingerprint(first.pk) == before and before[1] == "First 0 1 2\n"
    record = CollabState.objects.get(document=first)
    assert (record.state_seq, record.last_seq) == (3, 3)
    assert not CollabUpdate.objects.filter(document=first).exists()
    assert CollabUpdate.objects.filter(document=second).count() == 3  # the other document is left alone
    assert _run("compact_collab_updates", "--document", str(first.pk)).strip().endswith("merged 0 update(s).")


def test_commands_collab_compact_all(team):
    documents = [_document(team, f"Doc {index}\n") for index in range(3)]
    for document in documents:
        store.ensure_state(document.pk)
        _edit(document, " edited", team.user("editor"))
    before = {document.pk: _fingerprint(document.pk) for document in documents}
    assert _run("compact_collab_updates", "--all").strip() == "Compacted 3 document(s); merged 3 update(s)."
    assert {document.pk: _fingerprint(document.pk) for document in documents} == before
    assert not CollabUpdate.objects.exists()


@pytest.mark.parametrize(
    "args",
    [[], ["--all", "--document", "x"], ["--document", "not-a-uuid"], ["--document", str(uuid.uuid4())]],
    ids=["neither", "both", "malformed", "unknown"],
)
def test_commands_collab_compact_bad_arguments(team, args):
    with pytest.raises(CommandError):
        call_command("compact_collab_updates", *args)


def test_commands_collab_rematerialize_writes_pending_live_edits(team):
    pending, settled = _document(team, "Pending\n"), _document(team, "Settled\n")
    for document in (pending, settled):
        store.ensure_state(document.pk)
    _edit(pending, " and live", team.user("editor"))
    assert _run("rematerialize_content").strip() == "Materialized 1 document(s)."
    assert Document.objects.get(pk=pending.pk).content == "Pending and live\n"
    assert Document.objects.get(pk=pending.pk).updated_by == team.user("editor")
    assert Document.objects.get(pk=settled.pk).content == "Settled\n"
    assert _run("rematerialize_content").strip() == "Materialized 0 document(s)."


def test_commands_collab_rematerialize_one_document_and_force(team):
    document = _document(team, "Text\n")
    store.ensure_state(document.pk)
    # The markdown drifted from the live state (written behind the services' back): --force repairs it.
    Document.objects.filter(pk=document.pk).update(content="drifted")
    assert _run("rematerialize_content", "--document", str(document.pk)).strip() == "Materialized 0 document(s)."
    assert Document.objects.get(pk=document.pk).content == "drifted"
    output = _run("rematerialize_content", "--document", str(document.pk), "--force")
    assert output.strip() == "Materialized 1 document(s)."
    assert Document.objects.get(pk=document.pk).content == "Text\n"


@pytest.mark.parametrize("value", ["not-a-uuid", str(uuid.uuid4())], ids=["malformed", "no_state"])
def test_commands_collab_rematerialize_bad_document(team, value):
    with pytest.raises(CommandError):
        call_command("rematerialize_content", "--document", value)
