"""The AI proxy under a real daphne: a stream's provider call runs on the event loop without holding up other
requests, and a client that goes away mid-stream stops the provider call and still leaves its usage."""

from __future__ import annotations

import os
import time

import httpx
import pytest

from accounts.models import UsageMetric
from accounts.services.sessions import ClientInfo, session_start
from collab.tests.conftest import DaphneProcess, database_url_of_tests
from workspaces.tests.factories import UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]


@pytest.fixture
def ai_daphne(fake_providers, tmp_path):
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url_of_tests(), MDCREATOR_VAR_DIR=str(tmp_path), DATABASE_CONN_MAX_AGE="0",
        OPENAI_BASE_URL=fake_providers.openai_base_url, ANTHROPIC_BASE_URL=fake_providers.anthropic_base_url,
        OPENAI_API_KEY="sk-server-openai", ANTHROPIC_API_KEY="sk-ant-server", AI_STREAM_KEEPALIVE_SECONDS="0.2",
    )
    server = DaphneProcess(env).start()
    yield server
    server.stop()


def test_ai_live_stream_leaves_the_server_free_and_stops_when_the_client_goes(ai_daphne, fake_providers):
    user = UserFactory()
    token = session_start(user=user, client=ClientInfo()).access_token
    headers = {"Authorization": f"Bearer {token}"}
    body = {"provider": "openai", "stream": True, "prompt": "[[chunks:100]] [[interval:0.05]] " + "word " * 100}
    with httpx.Client(base_url=ai_daphne.http, timeout=10) as streamer, streamer.stream(
        "POST", "/api/v1/ai/generate", json=body, headers=headers
    ) as answer:
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/event-stream")
        lines = answer.iter_lines()
        while next(lines) != "event: delta":
            pass
        # Meanwhile the same process answers others at once: the stream holds no thread and no loop time.
        me = httpx.get(f"{ai_daphne.http}/api/v1/auth/me", headers=headers, timeout=2)
        assert me.status_code == 200
    gone = fake_providers.wait_disconnect(5)
    assert gone is not None and gone["chunks_sent"] < 100
    for _ in range(100):
        metric = UsageMetric.objects.filter(user=user).first()
        if metric is not None:
            break
        time.sleep(0.05)
    assert metric is not None and metric.metadata["status"] == "cancelled" and metric.metadata["streamed"] is True
