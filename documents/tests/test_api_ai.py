"""`ai/generate`, `ai/generate-diagram`, `ai/keys`, `ai/usage` (SPEC §3.8, §6) against local fake providers
reached by the official SDKs, through the project's ASGI handler."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from cryptography.fernet import Fernet

from accounts.models import ApiKey, UsageMetric
from documents.tests.ai_asgi import AsgiClient
from documents.tests.factories import DocumentFactory
from mdcreator.handlers import OneHopASGIHandler
from workspaces.models import Workspace
from workspaces.tests.factories import UserFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db(transaction=True)

GENERATE = "/api/v1/ai/generate"
USER_KEY = "sk-user-own-key-1234"


@pytest.fixture
def ai(settings, fake_providers):
    settings.OPENAI_BASE_URL = fake_providers.openai_base_url
    settings.ANTHROPIC_BASE_URL = fake_providers.anthropic_base_url
    settings.OPENAI_API_KEY, settings.ANTHROPIC_API_KEY = "sk-server-openai", "sk-ant-server"
    settings.RATE_LIMIT_AI, settings.RATE_LIMIT_AI_HOURLY = "1000/minute", "1000/hour"
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    return fake_providers


@pytest.fixture
def handler():
    handler = OneHopASGIHandler(threads=4)
    yield handler
    handler.executor.shutdown(wait=True)


@pytest.fixture
def user(db):
    return UserFactory(email="writer@example.com")


@pytest.fixture
def client(handler, user):
    return AsgiClient(handler, user)


def _metric(**metadata) -> UsageMetric:
    rows = [row for row in UsageMetric.objects.order_by("pk") if metadata.items() <= row.metadata.items()]
    assert len(rows) == 1, [row.metadata for row in UsageMetric.objects.all()]
    return rows[0]


def _wait_for_metric(**metadata) -> UsageMetric:
    """Records of calls cut short are written just after the response ends."""
    for _ in range(100):
        if any(metadata.items() <= row.metadata.items() for row in UsageMetric.objects.all()):
            return _metric(**metadata)
        time.sleep(0.02)
    return _metric(**metadata)


# --- generate -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_api_ai_generate_answers_with_usage_and_records_it(ai, client, user, provider):
    answer = client.post(GENERATE, {"provider": provider, "prompt": "Write a haiku about tea",
                                    "system": "Be brief.", "options": {"temperature": 0.5, "max_tokens": 200}})
    assert answer.status == 200, answer.body
    body = answer.json()
    assert body["content"] == "Echo: Write a haiku about tea"
    assert body["provider"] == provider and body["model"] == ("gpt-4o-mini" if provider == "openai" else "claude-haiku-4-5")
    assert body["key_source"] == "server" and body["context_truncated"] is False
    assert body["tokens_used"] == body["prompt_tokens"] + body["completion_tokens"] > 0
    assert body["cost_estimate"] > 0 and body["generated_at"].endswith("Z")
    sent = ai.requests[-1]
    assert sent["key"] == ("sk-server-openai" if provider == "openai" else "sk-ant-server")
    if provider == "openai":
        assert sent["body"]["messages"][0] == {"role": "system", "content": "Be brief."}
        assert sent["body"]["temperature"] == 0.5 and sent["body"]["max_completion_tokens"] == 200
    else:
        assert sent["body"]["system"] == "Be brief." and sent["body"]["max_tokens"] == 200
    metric = _metric(provider=provider)
    assert metric.user_id == user.pk and metric.value == body["tokens_used"]
    assert metric.metadata["status"] == "success" and metric.metadata["key_source"] == "server"
    assert metric.metadata["cost_estimate_usd"] == body["cost_estimate"] and metric.metadata["streamed"] is False


def test_api_ai_generate_validates_every_field(ai, client):
    cases = [
        ({"provider": "gemini", "prompt": "x"}, "provider"),
        ({"provider": "openai", "model": "gpt-nope", "prompt": "x"}, "model"),
        ({"provider": "openai", "prompt": "x", "options": {"temperature": 2.5}}, "options"),
        ({"provider": "openai", "prompt": "x", "options": {"max_tokens": 0}}, "options"),
        ({"provider": "openai", "prompt": "x", "options": {"max_tokens": 4097}}, "options"),
        ({"provider": "openai", "prompt": "x" * 20_001}, "prompt"),
        ({"provider": "openai"}, "prompt"),
        ({"provider": "openai", "prompt": 5}, "prompt"),
        ({"provider": "openai", "prompt": "x", "context_ids": ["00000000-0000-4000-8000-000000000000"] * 11},
         "context_ids"),
        ({"provider": "openai", "prompt": "x", "stream": "yes"}, "stream"),
    ]
    for body, field in cases:
        answer = client.post(GENERATE, body)
        assert answer.status == 400, (body, answer.body)
        assert any(name.startswith(field) for name in answer.json()["errors"]), (body, answer.json())
    assert not ai.requests and not UsageMetric.objects.exists()


def test_api_ai_generate_needs_a_signed_in_caller(ai, handler):
    answer = AsgiClient(handler, None).post(GENERATE, {"provider": "openai", "prompt": "x"})
    assert answer.status == 401 and not ai.requests


def test_api_ai_without_any_key_is_503(ai, client, settings):
    settings.OPENAI_API_KEY = ""
    answer = client.post(GENERATE, {"provider": "openai", "prompt": "x"})
    assert answer.status == 503 and answer.json()["type"].endswith("/ai-provider-unavailable")
    assert not ai.requests


def test_api_ai_provider_failure_is_502_and_recorded(ai, client):
    answer = client.post(GENERATE, {"provider": "anthropic", "prompt": "[[status:529]] hello"})
    assert answer.status == 502 and answer.json()["type"].endswith("/ai-provider-error")
    metric = _metric(provider="anthropic")
    assert metric.metadata["status"] == "error" and metric.metadata["completion_tokens"] == 0
    assert metric.metadata["prompt_tokens"] > 0  # estimated from the prompt


def test_api_ai_provider_error_mentioning_the_key_is_not_passed_on(ai, client, caplog):
    caplog.set_level(logging.DEBUG)
    answer = client.post(GENERATE, {"provider": "openai", "prompt": "[[mention-key]] hello"})
    assert answer.status == 502
    assert b"sk-server-openai" not in answer.body and "sk-server-openai" not in caplog.text
    plain = client.post(GENERATE, {"provider": "openai", "prompt": "[[status:429]] hello"})
    assert plain.status == 502 and "Rate limit reached" in plain.json()["detail"]  # nothing about keys: passed on


def test_api_ai_provider_timeout_is_504(ai, client, settings):
    settings.AI_TIMEOUT_SECONDS = 0.3
    answer = client.post(GENERATE, {"provider": "openai", "prompt": "[[hang]] hello"})
    assert answer.status == 504 and answer.json()["type"].endswith("/ai-provider-timeout")
    assert ai.wait_disconnect(2) is not None, "the provider call was abandoned"
    assert _metric(provider="openai").metadata["status"] == "timeout"


def test_api_ai_rate_limits_per_user(ai, client, settings, handler):
    settings.RATE_LIMIT_AI = "2/minute"
    assert [client.post(GENERATE, {"provider": "openai", "prompt": "x"}).status for _ in range(2)] == [200, 200]
    limited = client.post(GENERATE, {"provider": "openai", "prompt": "x"})
    assert limited.status == 429 and int(limited.headers["retry-after"]) > 0
    other = AsgiClient(handler, UserFactory())
    assert other.post(GENERATE, {"provider": "openai", "prompt": "x"}).status == 200
    settings.RATE_LIMIT_AI, settings.RATE_LIMIT_AI_HOURLY = "1000/minute", "3/hour"
    assert other.post(GENERATE, {"provider": "openai", "prompt": "x"}).status == 200
    assert other.post(GENERATE, {"provider": "openai", "prompt": "x"}).status == 200
    assert other.post(GENERATE, {"provider": "openai", "prompt": "x"}).status == 429


def test_api_ai_server_key_quota_is_402_and_own_keys_are_not_counted(ai, client, user, settings):
    settings.AI_MONTHLY_TOKEN_QUOTA = {**settings.AI_MONTHLY_TOKEN_QUOTA, "free": 30}
    first = client.post(GENERATE, {"provider": "openai", "prompt": "a long enough prompt " * 20})
    assert first.status == 200 and first.json()["tokens_used"] >= 30
    over = client.post(GENERATE, {"provider": "openai", "prompt": "x"})
    assert over.status == 402 and over.json()["type"].endswith("/quota-exceeded")
    ai.valid_keys["openai"].add(USER_KEY)
    assert client.post("/api/v1/ai/keys", {"provider": "openai", "api_key": USER_KEY}).status == 201
    own = client.post(GENERATE, {"provider": "openai", "prompt": "x"})
    assert own.status == 200 and own.json()["key_source"] == "user"
    assert ai.requests[-1]["key"] == USER_KEY
    key = ApiKey.objects.get(user=user)
    assert key.usage_count == 1 and key.last_used_at is not None
    usage = client.get("/api/v1/ai/usage").json()
    assert usage["quota_tokens"] == 30 and usage["quota_tokens_used"] == first.json()["tokens_used"]
    assert usage["requests"] == 2
    assert usage["tokens_used"] == first.json()["tokens_used"] + own.json()["tokens_used"]
    assert usage["by_provider"]["openai"]["requests"] == 2


def test_api_ai_usage_sums_a_month_by_provider(ai, client):
    client.post(GENERATE, {"provider": "openai", "prompt": "one"})
    client.post(GENERATE, {"provider": "anthropic", "prompt": "two"})
    client.post(GENERATE, {"provider": "anthropic", "prompt": "three"})
    usage = client.get("/api/v1/ai/usage").json()
    metrics = list(UsageMetric.objects.all())
    assert usage["requests"] == 3 and usage["tokens_used"] == sum(m.value for m in metrics)
    assert usage["by_provider"]["anthropic"]["requests"] == 2
    assert usage["cost_estimate"] == pytest.approx(sum(m.metadata["cost_estimate_usd"] for m in metrics))
    assert client.get("/api/v1/ai/usage?month=2020-01").json()["requests"] == 0
    assert client.get("/api/v1/ai/usage?month=2020-13").status == 400


# --- keys -----------------------------------------------------------------------------------------------


def test_api_ai_keys_are_validated_stored_encrypted_and_shown_by_last4(ai, client, user, caplog):
    caplog.set_level(logging.DEBUG)
    rejected = client.post("/api/v1/ai/keys", {"provider": "openai", "api_key": USER_KEY})
    assert rejected.status == 400 and rejected.json()["type"].endswith("/invalid-api-key")
    assert not ApiKey.objects.exists()
    ai.valid_keys["openai"].add(USER_KEY)
    created = client.post("/api/v1/ai/keys", {"provider": "openai", "api_key": USER_KEY, "name": "Mine"})
    assert created.status == 201, created.body
    assert created.json()["last4"] == "1234" and created.json()["name"] == "Mine"
    assert ai.requests[-1]["path"].endswith("/models") and ai.requests[-1]["key"] == USER_KEY
    row = ApiKey.objects.get(user=user)
    assert USER_KEY not in row.encrypted_key and row.key_hash != USER_KEY
    duplicate = client.post("/api/v1/ai/keys", {"provider": "openai", "api_key": USER_KEY})
    assert duplicate.status == 409
    listed = client.get("/api/v1/ai/keys")
    assert [key["id"] for key in listed.json()["keys"]] == [str(row.pk)]
    everything = b"".join([rejected.body, created.body, duplicate.body, listed.body])
    assert USER_KEY.encode() not in everything and USER_KEY not in caplog.text


def test_api_ai_keys_must_be_printable_ascii(ai, client):
    for bad in ("9u*ËÎ>¢4|key", "sk-with space", "sk-tab\tkey1"):
        answer = client.post("/api/v1/ai/keys", {"provider": "openai", "api_key": bad})
        assert answer.status == 400 and "api_key" in answer.json()["errors"], answer.body
    assert not ai.requests


def test_api_ai_keys_delete_wipes_the_secret_and_hides_others_keys(ai, client, handler, user):
    ai.valid_keys["anthropic"].add(USER_KEY)
    key_id = client.post("/api/v1/ai/keys", {"provider": "anthropic", "api_key": USER_KEY}).json()["id"]
    stranger = AsgiClient(handler, UserFactory())
    assert stranger.call("DELETE", f"/api/v1/ai/keys/{key_id}").status == 404
    assert client.call("DELETE", f"/api/v1/ai/keys/{key_id}").status == 204
    row = ApiKey.objects.get(pk=key_id)
    assert row.encrypted_key == "" and row.revoked_at is not None and not row.is_active
    assert client.call("DELETE", f"/api/v1/ai/keys/{key_id}").status == 404
    assert client.get("/api/v1/ai/keys").json()["keys"] == []
    answer = client.post(GENERATE, {"provider": "anthropic", "prompt": "x"})
    assert answer.json()["key_source"] == "server"
    again = client.post("/api/v1/ai/keys", {"provider": "anthropic", "api_key": USER_KEY})  # added back: same row
    assert again.status == 201 and again.json()["id"] == key_id


def test_api_ai_key_rejected_at_call_time_is_marked_invalid(ai, client, user):
    ai.valid_keys["openai"].add(USER_KEY)
    client.post("/api/v1/ai/keys", {"provider": "openai", "api_key": USER_KEY})
    ai.valid_keys["openai"].discard(USER_KEY)  # revoked at the provider since
    answer = client.post(GENERATE, {"provider": "openai", "prompt": "x"})
    assert answer.status == 502 and USER_KEY.encode() not in answer.body
    key = ApiKey.objects.get(user=user)
    assert key.is_valid is False and key.validation_error


# --- streaming ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_api_ai_stream_sends_deltas_then_done(ai, client, provider):
    answer = client.post(GENERATE, {"provider": provider, "prompt": "[[chunks:4]] one two three four", "stream": True})
    assert answer.status == 200 and answer.headers["content-type"].startswith("text/event-stream")
    events = answer.events()
    deltas = [data["content"] for name, data in events if name == "delta"]
    assert len(deltas) >= 4 and "".join(deltas) == "Echo: one two three four"
    name, done = events[-1]
    assert name == "done" and done["tokens_used"] == done["prompt_tokens"] + done["completion_tokens"]
    metric = _metric(provider=provider)
    assert metric.metadata["streamed"] is True and metric.metadata["status"] == "success"
    assert metric.value == done["tokens_used"] and metric.metadata["tokens_estimated"] is False


def test_api_ai_stream_keeps_the_connection_alive_while_the_provider_is_silent(ai, client, settings):
    settings.AI_STREAM_KEEPALIVE_SECONDS = 0.05
    answer = client.post(GENERATE, {"provider": "openai", "prompt": "[[first-token-delay:0.4]] hi", "stream": True})
    names = [name for name, _ in answer.events()]
    assert names[0] == "comment" and "delta" in names and names[-1] == "done"


def test_api_ai_stream_error_mid_stream_is_an_error_event(ai, client):
    answer = client.post(GENERATE, {"provider": "anthropic", "prompt": "[[error-mid-stream]] a b c", "stream": True})
    events = answer.events()
    assert events[0][0] == "delta" and events[-1][0] == "error"
    assert events[-1][1]["type"].endswith("/ai-provider-error") and events[-1][1]["status"] == 502
    metric = _wait_for_metric(provider="anthropic")
    assert metric.metadata["status"] == "error" and metric.metadata["completion_tokens"] > 0


def test_api_ai_stream_client_gone_cancels_the_provider_call_and_records_usage(ai, client):
    async def leave_early():
        app = await client.open("POST", GENERATE, {
            "provider": "openai", "prompt": "[[chunks:50]] [[interval:0.05]] " + "word " * 50, "stream": True})
        assert (await app.receive_output(5))["status"] == 200
        received = b""
        while b"event: delta" not in received:
            received += (await app.receive_output(5)).get("body", b"")
        await app.send_input({"type": "http.disconnect"})
        await app.wait(5)

    asyncio.run(leave_early())
    gone = ai.wait_disconnect(2)
    assert gone is not None and gone["chunks_sent"] < 50, "the provider stopped being read"
    metric = _wait_for_metric(provider="openai")
    assert metric.metadata["status"] == "cancelled" and metric.metadata["completion_tokens"] >= 1
    assert metric.metadata["tokens_estimated"] is True


def test_api_ai_whole_reply_client_gone_cancels_the_provider_call(ai, client):
    async def leave_early():
        app = await client.open("POST", GENERATE, {"provider": "anthropic", "prompt": "[[hang]] x"})
        while not ai.requests:
            await asyncio.sleep(0.01)
        await app.send_input({"type": "http.disconnect"})
        await app.wait(5)
        assert app.output_queue.empty(), "nobody is left to answer"

    asyncio.run(leave_early())
    assert ai.wait_disconnect(2) is not None
    assert _metric(provider="anthropic").metadata["status"] == "cancelled"


# --- context --------------------------------------------------------------------------------------------


def _ai_off(workspace) -> None:
    Workspace.objects.filter(pk=workspace.pk).update(settings={**workspace.settings, "ai_enabled": False})


@pytest.fixture
def workspace(user):
    return WorkspaceFactory(owner=user, name="Mine")


def test_api_ai_context_documents_go_into_the_system_message(ai, client, workspace):
    notes = DocumentFactory(workspace=workspace, title="Notes", content="The launch is on Friday.")
    answer = client.post(GENERATE, {"provider": "openai", "prompt": "When?", "system": "Answer briefly.",
                                    "context_ids": [str(notes.pk)]})
    assert answer.status == 200, answer.body
    system = ai.requests[-1]["body"]["messages"][0]["content"]
    assert system.startswith("Answer briefly.") and "The launch is on Friday." in system and "Notes" in system
    assert _metric(provider="openai").workspace_id == workspace.pk


def test_api_ai_context_refuses_unknown_forbidden_and_ai_disabled_ids_alike(ai, client, workspace):
    hidden = DocumentFactory(workspace=WorkspaceFactory(), content="secret")
    quiet_space = WorkspaceFactory(owner=workspace.owner)
    _ai_off(quiet_space)
    quiet = DocumentFactory(workspace=quiet_space, content="no ai here")
    fine = DocumentFactory(workspace=workspace, content="fine")
    unknown = "00000000-0000-4000-8000-000000000000"
    answer = client.post(GENERATE, {"provider": "openai", "prompt": "x",
                                    "context_ids": [str(fine.pk), str(hidden.pk), unknown, str(quiet.pk)]})
    assert answer.status == 400
    message = answer.json()["errors"]["context_ids"][0]
    assert str(hidden.pk) in message and unknown in message and str(quiet.pk) in message and str(fine.pk) not in message
    assert not ai.requests


def test_api_ai_context_is_cut_in_proportion_and_the_callers_system_is_not(ai, client, workspace):
    big = DocumentFactory(workspace=workspace, title="Big", content="a" * 150_000)
    small = DocumentFactory(workspace=workspace, title="Small", content="b" * 50_000)
    answer = client.post(GENERATE, {"provider": "anthropic", "prompt": "sum up", "system": "S" * 15_000,
                                    "context_ids": [str(big.pk), str(small.pk)]})
    assert answer.status == 200 and answer.json()["context_truncated"] is True
    system = ai.requests[-1]["body"]["system"]
    assert system.startswith("S" * 15_000)
    assert "a" * 75_000 in system and "a" * 75_001 not in system
    assert "b" * 25_000 in system and "b" * 25_001 not in system


def test_api_ai_context_files_text_is_included_and_the_rest_listed_as_skipped(ai, client, user, workspace,
                                                                           store_mode):
    from documents.tests.test_api_context_files import add, stored
    from workspaces.tests.helpers import client_for

    document = DocumentFactory(workspace=workspace)
    api = client_for(user)
    glossary = stored(api, store_mode, document, b"CRDT: a replicated data type.\n", file_name="glossary.md")
    report = stored(api, store_mode, document, b"%PDF-1.7 binary", file_name="report.pdf", file_type="pdf")
    laptop = add(api, document, b"only on my laptop", file_name="draft.txt", file_type="txt",
                 storage_mode="local").json()["context_file"]
    answer = client.post(GENERATE, {"provider": "openai", "prompt": "Explain CRDT",
                                    "context_ids": [glossary["id"], report["id"], laptop["id"]]})
    assert answer.status == 200, answer.body
    assert answer.json()["context_skipped"] == [
        {"id": report["id"], "file_name": "report.pdf", "reason": "not-text"},
        {"id": laptop["id"], "file_name": "draft.txt", "reason": "not-on-server"},
    ]
    system = ai.requests[-1]["body"]["messages"][0]["content"]
    assert "CRDT: a replicated data type." in system and "PDF" not in system


def test_api_ai_workspace_with_ai_off_is_403(ai, client, workspace):
    _ai_off(workspace)
    answer = client.post(GENERATE, {"provider": "openai", "prompt": "x", "workspace_id": str(workspace.pk)})
    assert answer.status == 403 and answer.json()["type"].endswith("/ai-disabled")
    stranger_space = WorkspaceFactory()
    hidden = client.post(GENERATE, {"provider": "openai", "prompt": "x", "workspace_id": str(stranger_space.pk)})
    assert hidden.status == 404


# --- diagrams -------------------------------------------------------------------------------------------


def test_api_ai_diagram_strips_fences_and_validates(ai, client):
    reply = "Here it is:\n```mermaid\nflowchart TD\n  A[Start] --> B{Ready?}\n  B -->|yes| C(Go)\n```\n"
    answer = client.post("/api/v1/ai/generate-diagram", {
        "description": f"[[reply]]{reply}[[/reply]]", "diagram_type": "flowchart"})
    assert answer.status == 200, answer.body
    body = answer.json()
    assert body["mermaid_code"] == "flowchart TD\n  A[Start] --> B{Ready?}\n  B -->|yes| C(Go)"
    assert body["validated"] is True and body["diagram_type"] == "flowchart" and body["provider"] == "openai"
    assert "Mermaid" in ai.requests[-1]["body"]["messages"][0]["content"]
    wrong = client.post("/api/v1/ai/generate-diagram", {
        "description": "[[reply]]sequenceDiagram\n  A->>B: hi[[/reply]]", "diagram_type": "flowchart"})
    assert wrong.json()["validated"] is False
    assert UsageMetric.objects.filter(metadata__endpoint="generate-diagram").count() == 2


def test_api_ai_diagram_validates_its_fields(ai, client):
    answer = client.post("/api/v1/ai/generate-diagram", {"description": "x", "diagram_type": "venn"})
    assert answer.status == 400 and "diagram_type" in answer.json()["errors"]
