"""The fake AI providers speak the wire formats the official openai and anthropic SDKs send and parse."""

from __future__ import annotations

import asyncio
import contextlib
import threading

import anthropic
import openai
import pytest

from documents.tests import ai_fakes

OPENAI_KEY, ANTHROPIC_KEY = "sk-server-openai", "sk-ant-server"
MERMAID_REPLY = "Here it is:\n\n```mermaid\nflowchart TD\n    A[[Start]] --> B{Ok?}\n    B -->|yes| C[\"Done `x`\"]\n```\n"


@pytest.fixture
def fakes(fake_providers):
    return fake_providers


def _openai(fakes, *, key=OPENAI_KEY, timeout=10.0):
    return openai.OpenAI(api_key=key, base_url=fakes.openai_base_url, max_retries=0, timeout=timeout)


def _async_openai(fakes, *, key=OPENAI_KEY, timeout=10.0):
    return openai.AsyncOpenAI(api_key=key, base_url=fakes.openai_base_url, max_retries=0, timeout=timeout)


def _anthropic(fakes, *, key=ANTHROPIC_KEY, timeout=10.0):
    return anthropic.Anthropic(api_key=key, base_url=fakes.anthropic_base_url, max_retries=0, timeout=timeout)


def _async_anthropic(fakes, *, key=ANTHROPIC_KEY, timeout=10.0):
    return anthropic.AsyncAnthropic(api_key=key, base_url=fakes.anthropic_base_url, max_retries=0, timeout=timeout)


def _user(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def _openai_stream_text(stream) -> tuple[list[str], object]:
    pieces, usage = [], None
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            pieces.append(chunk.choices[0].delta.content)
        usage = chunk.usage or usage
    return pieces, usage


def test_ai_fakes_openai_completion_content_and_usage(fakes):
    messages = [{"role": "system", "content": "Be brief."}, *_user("Summarise the plan, please.")]
    reply = _openai(fakes).chat.completions.create(model="gpt-4o-mini", messages=messages)

    assert reply.choices[0].message.content == "Echo: Summarise the plan, please."
    assert reply.choices[0].finish_reason == "stop"
    assert reply.model == "gpt-4o-mini"
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens, reply.usage.total_tokens) == (9, 8, 17)
    [request] = fakes.requests
    assert (request["provider"], request["path"], request["method"]) == ("openai", "/openai/v1/chat/completions",
                                                                         "POST")
    assert request["key"] == OPENAI_KEY and request["body"]["messages"] == messages


def test_ai_fakes_openai_completion_async(fakes):
    async def call():
        async with _async_openai(fakes) as client:
            return await client.chat.completions.create(model="gpt-4o", messages=_user("Hi [[truncated]]"))

    reply = asyncio.run(call())

    assert reply.choices[0].message.content == "Echo: Hi"
    assert reply.choices[0].finish_reason == "length"
    assert reply.usage.prompt_tokens == len("Hi [[truncated]]") // 4


def test_ai_fakes_openai_stream_reassembles_reply_and_usage(fakes):
    stream = _openai(fakes).chat.completions.create(
        model="gpt-4o-mini", messages=_user("one two three four"), stream=True, stream_options={"include_usage": True})
    pieces, usage = _openai_stream_text(stream)

    assert pieces == ["Echo: ", "one ", "two ", "three ", "four"]
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (4, 6, 10)


def test_ai_fakes_openai_stream_usage_only_when_asked(fakes):
    client = _openai(fakes)
    _, without_option = _openai_stream_text(
        client.chat.completions.create(model="gpt-4o-mini", messages=_user("hello"), stream=True))
    _, without_usage = _openai_stream_text(client.chat.completions.create(
        model="gpt-4o-mini", messages=_user("hello [[no-usage]]"), stream=True,
        stream_options={"include_usage": True}))

    assert without_option is None and without_usage is None
    assert client.chat.completions.create(model="gpt-4o-mini", messages=_user("[[no-usage]]")).usage is None


def test_ai_fakes_openai_stream_async_in_chunks(fakes):
    async def call():
        async with _async_openai(fakes) as client:
            stream = await client.chat.completions.create(
                model="gpt-4o-mini", messages=_user("[[chunks:3]][[interval:0.01]][[first-token-delay:0.01]] a b c d e"),
                stream=True, stream_options={"include_usage": True})
            chunks = [chunk async for chunk in stream]
            return [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content], chunks

    pieces, chunks = asyncio.run(call())

    assert len(pieces) == 3 and "".join(pieces) == "Echo: a b c d e"
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 3


def test_ai_fakes_anthropic_message_content_and_usage(fakes):
    reply = _anthropic(fakes).messages.create(model="claude-haiku-4-5", max_tokens=100, system="Be brief.",
                                              messages=_user("Summarise the plan, please."))

    assert reply.content[0].type == "text" and reply.content[0].text == "Echo: Summarise the plan, please."
    assert (reply.stop_reason, reply.model) == ("end_turn", "claude-haiku-4-5")
    assert (reply.usage.input_tokens, reply.usage.output_tokens) == (9, 8)
    assert fakes.requests[0]["key"] == ANTHROPIC_KEY and fakes.requests[0]["path"] == "/anthropic/v1/messages"


def test_ai_fakes_anthropic_message_async_with_text_parts(fakes):
    async def call():
        async with _async_anthropic(fakes) as client:
            return await client.messages.create(model="claude-haiku-4-5", max_tokens=100, messages=[
                {"role": "user", "content": [{"type": "text", "text": "part one, "}, {"type": "text", "text": "two"}]}])

    assert asyncio.run(call()).content[0].text == "Echo: part one, two"


def test_ai_fakes_anthropic_stream_helper_sync(fakes):
    with _anthropic(fakes).messages.stream(model="claude-haiku-4-5", max_tokens=100, system="Be brief.",
                                           messages=_user("one two three four")) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()

    assert pieces == ["Echo: ", "one ", "two ", "three ", "four"]
    assert final.content[0].text == "Echo: one two three four" and final.stop_reason == "end_turn"
    assert (final.usage.input_tokens, final.usage.output_tokens) == (6, 6)


def test_ai_fakes_anthropic_stream_helper_async(fakes):
    async def call():
        async with _async_anthropic(fakes) as client:
            async with client.messages.stream(model="claude-haiku-4-5", max_tokens=100,
                                              messages=_user("[[chunks:2]] alpha beta gamma")) as stream:
                return [text async for text in stream.text_stream], await stream.get_final_message()

    pieces, final = asyncio.run(call())

    assert len(pieces) == 2 and "".join(pieces) == final.content[0].text == "Echo: alpha beta gamma"
    assert final.usage.output_tokens == len("Echo: alpha beta gamma") // 4


def test_ai_fakes_anthropic_raw_stream_events(fakes):
    stream = _anthropic(fakes).messages.create(model="claude-haiku-4-5", max_tokens=100, stream=True,
                                               messages=_user("hi there"))
    events = list(stream)

    assert [e.type for e in events] == ["message_start", "content_block_start", "content_block_delta",
                                        "content_block_delta", "content_block_delta", "content_block_stop",
                                        "message_delta", "message_stop"]
    assert events[0].message.usage.input_tokens == 2
    assert "".join(e.delta.text for e in events if e.type == "content_block_delta") == "Echo: hi there"
    assert events[-2].usage.output_tokens == 3 and events[-2].delta.stop_reason == "end_turn"


def test_ai_fakes_anthropic_raw_stream_async(fakes):
    async def call():
        async with _async_anthropic(fakes) as client:
            stream = await client.messages.create(model="claude-haiku-4-5", max_tokens=100, stream=True,
                                                  messages=_user("hello [[truncated]]"))
            return [event async for event in stream]

    events = asyncio.run(call())

    assert events[-2].type == "message_delta" and events[-2].delta.stop_reason == "max_tokens"


def test_ai_fakes_anthropic_no_usage(fakes):
    client = _anthropic(fakes)
    reply = client.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=_user("hi [[no-usage]]"))
    events = list(client.messages.create(model="claude-haiku-4-5", max_tokens=10, stream=True,
                                         messages=_user("hi [[no-usage]]")))

    assert reply.usage is None and reply.content[0].text == "Echo: hi"
    assert events[0].message.usage is None and events[-2].usage is None


@pytest.mark.parametrize("key", ["sk-abcdefghijklmnopqrstuvwxyz", None])
def test_ai_fakes_openai_bad_key_is_authentication_error(fakes, key):
    client = _openai(fakes, key=key or "unused")
    if key is None:
        client = client.with_options(default_headers={"Authorization": "Basic nothing"})
    with pytest.raises(openai.AuthenticationError) as caught:
        client.chat.completions.create(model="gpt-4o-mini", messages=_user("hi"))

    assert caught.value.status_code == 401
    if key:
        assert "Incorrect API key provided: sk-ab***...wxyz." in caught.value.message
        assert key not in caught.value.message and caught.value.code == "invalid_api_key"


def test_ai_fakes_anthropic_bad_key_is_authentication_error(fakes):
    with pytest.raises(anthropic.AuthenticationError) as caught:
        _anthropic(fakes, key="sk-ant-wrong").messages.create(model="claude-haiku-4-5", max_tokens=10,
                                                              messages=_user("hi"))

    assert caught.value.status_code == 401
    assert caught.value.body["error"] == {"type": "authentication_error", "message": "invalid x-api-key"}


def test_ai_fakes_keys_change_while_running(fakes):
    fakes.valid_keys["openai"].add("sk-user-added")
    fakes.valid_keys["anthropic"].add("sk-ant-user")
    raw = anthropic.Anthropic(api_key=None, auth_token=None, base_url=fakes.anthropic_base_url, max_retries=0,
                              default_headers={"x-api-key": "sk-ant-user"})

    assert _openai(fakes, key="sk-user-added").models.list().data
    assert raw.models.list().data and fakes.requests[-1]["key"] == "sk-ant-user"


@pytest.mark.parametrize(("status", "error"), [(429, openai.RateLimitError), (500, openai.InternalServerError),
                                               (503, openai.InternalServerError)])
def test_ai_fakes_openai_status_directive(fakes, status, error):
    with pytest.raises(error) as caught:
        _openai(fakes).chat.completions.create(model="gpt-4o-mini", messages=_user(f"[[status:{status}]]"),
                                               stream=True)

    assert caught.value.status_code == status and caught.value.type


@pytest.mark.parametrize(("status", "error", "kind"), [
    (429, anthropic.RateLimitError, "rate_limit_error"), (500, anthropic.InternalServerError, "api_error"),
    (529, anthropic.OverloadedError, "overloaded_error")])
def test_ai_fakes_anthropic_status_directive(fakes, status, error, kind):
    with pytest.raises(error) as caught:
        _anthropic(fakes).messages.create(model="claude-haiku-4-5", max_tokens=10,
                                          messages=_user(f"[[status:{status}]]"))

    assert caught.value.status_code == status and caught.value.body["error"]["type"] == kind


def test_ai_fakes_mention_key_quotes_the_key(fakes):
    with pytest.raises(openai.BadRequestError) as openai_caught:
        _openai(fakes).chat.completions.create(model="gpt-4o-mini", messages=_user("[[mention-key]]"))
    with pytest.raises(anthropic.BadRequestError) as anthropic_caught:
        _anthropic(fakes).messages.create(model="claude-haiku-4-5", max_tokens=10, messages=_user("[[mention-key]]"))

    assert OPENAI_KEY in openai_caught.value.message and ANTHROPIC_KEY in anthropic_caught.value.message


def test_ai_fakes_openai_error_mid_stream_raises_after_first_delta(fakes):
    stream = _openai(fakes).chat.completions.create(model="gpt-4o-mini", messages=_user("a b c [[error-mid-stream]]"),
                                                    stream=True)
    seen = []
    with pytest.raises(openai.APIError) as caught:
        for chunk in stream:
            seen.append(chunk.choices[0].delta.content)

    assert seen == ["", "Echo: "] and caught.value.type == "server_error"


def test_ai_fakes_anthropic_error_mid_stream_raises_after_first_delta(fakes):
    seen = []
    with pytest.raises(anthropic.APIStatusError) as caught:
        with _anthropic(fakes).messages.stream(model="claude-haiku-4-5", max_tokens=10,
                                               messages=_user("a b c [[error-mid-stream]]")) as stream:
            seen.extend(stream.text_stream)

    assert seen == ["Echo: "] and caught.value.body["error"]["type"] == "overloaded_error"


def test_ai_fakes_openai_hang_times_out_and_disconnect_is_recorded(fakes):
    with pytest.raises(openai.APITimeoutError):
        _openai(fakes, timeout=0.5).chat.completions.create(model="gpt-4o-mini", messages=_user("[[hang]]"))

    disconnect = fakes.wait_disconnect()
    assert disconnect["provider"] == "openai" and disconnect["chunks_sent"] == 0
    assert disconnect["path"] == "/openai/v1/chat/completions"
    assert disconnect["detected_at"] > fakes.requests[0]["started_at"]


def test_ai_fakes_anthropic_hang_times_out_async(fakes):
    async def call():
        async with _async_anthropic(fakes, timeout=0.5) as client:
            await client.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=_user("[[hang]]"))

    with pytest.raises(anthropic.APITimeoutError):
        asyncio.run(call())

    assert fakes.wait_disconnect()["provider"] == "anthropic"


def test_ai_fakes_openai_async_stream_closed_early_is_a_disconnect(fakes):
    async def call():
        async with _async_openai(fakes) as client:
            stream = await client.chat.completions.create(
                model="gpt-4o-mini", messages=_user("[[chunks:50]][[interval:0.02]] " + "word " * 60), stream=True)
            async for chunk in stream:
                if chunk.choices[0].delta.content:
                    break
            await stream.close()

    asyncio.run(call())

    disconnect = fakes.wait_disconnect()
    assert disconnect["provider"] == "openai" and 1 <= disconnect["chunks_sent"] < 50


def test_ai_fakes_anthropic_async_stream_cancelled_is_a_disconnect(fakes):
    async def consume(client, started):
        async with client.messages.stream(model="claude-haiku-4-5", max_tokens=100,
                                          messages=_user("[[chunks:50]][[interval:0.02]] " + "word " * 60)) as stream:
            async for _ in stream.text_stream:
                started.set()

    async def call():
        async with _async_anthropic(fakes) as client:
            started = asyncio.Event()
            task = asyncio.create_task(consume(client, started))
            await started.wait()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    asyncio.run(call())

    disconnect = fakes.wait_disconnect()
    assert disconnect["provider"] == "anthropic" and 1 <= disconnect["chunks_sent"] < 50


def test_ai_fakes_models_list(fakes):
    assert [m.id for m in _openai(fakes).models.list()] == ["gpt-4o-mini", "gpt-4o"]
    assert [m.id for m in _anthropic(fakes).models.list()] == ["claude-sonnet-4-5", "claude-haiku-4-5"]
    with pytest.raises(openai.AuthenticationError):
        _openai(fakes, key="sk-nope-nope-nope").models.list()
    with pytest.raises(anthropic.AuthenticationError):
        _anthropic(fakes, key="sk-ant-nope").models.list()

    assert [r["path"] for r in fakes.requests] == ["/openai/v1/models", "/anthropic/v1/models"] * 2
    assert all(r["method"] == "GET" and r["body"] is None for r in fakes.requests)


def test_ai_fakes_models_list_async(fakes):
    async def call():
        async with _async_openai(fakes) as openai_client, _async_anthropic(fakes) as anthropic_client:
            return [m.id async for m in openai_client.models.list()], [m.id async for m in anthropic_client.models.list()]

    assert asyncio.run(call()) == (["gpt-4o-mini", "gpt-4o"], ["claude-sonnet-4-5", "claude-haiku-4-5"])


def test_ai_fakes_reply_directive_round_trips_mermaid(fakes):
    prompt = f"Draw it. [[reply]]{MERMAID_REPLY}[[/reply]] [[chunks:4]]"
    whole = _openai(fakes).chat.completions.create(model="gpt-4o-mini", messages=_user(prompt))
    pieces, _ = _openai_stream_text(_openai(fakes).chat.completions.create(
        model="gpt-4o-mini", messages=_user(prompt), stream=True))
    with _anthropic(fakes).messages.stream(model="claude-haiku-4-5", max_tokens=100, messages=_user(prompt)) as stream:
        streamed = "".join(stream.text_stream)

    assert whole.choices[0].message.content == MERMAID_REPLY
    assert len(pieces) == 4 and "".join(pieces) == MERMAID_REPLY
    assert streamed == MERMAID_REPLY


def test_ai_fakes_parse_script_forms():
    block = ai_fakes.parse_script("x [[reply]]a [[hang]] ]] b[[/reply]] [[interval:0.5]] y")
    short = ai_fakes.parse_script("[[reply:line one\n`code`]] [[status:529]][[no-usage]]")
    unclosed = ai_fakes.parse_script("[[first-token-delay:1.5]] [[reply]]to the end ]]")

    assert (block.reply, block.hang, block.interval, block.text) == ("a [[hang]] ]] b", False, 0.5, "x   y")
    assert (short.reply, short.status, short.no_usage) == ("line one\n`code`", 529, True)
    assert (unclosed.reply, unclosed.first_token_delay) == ("to the end ]]", 1.5)


def test_ai_fakes_split_reply_counts():
    assert ai_fakes.split_reply("a b c", None) == ["a ", "b ", "c"]
    assert ai_fakes.split_reply("one two three four five", 2) == ["one two ", "three four five"]
    assert ai_fakes.split_reply("abc", 5) == ["a", "b", "c"]
    assert "".join(ai_fakes.split_reply("xy z", 3)) == "xy z"


def test_ai_fakes_stop_ends_hanging_requests():
    fakes = ai_fakes.FakeProviders().start()
    outcome = []

    def call():
        try:
            _openai(fakes, timeout=30).chat.completions.create(model="gpt-4o-mini", messages=_user("[[hang]]"))
        except openai.APIConnectionError as error:
            outcome.append(error)

    caller = threading.Thread(target=call)
    caller.start()
    while not fakes.requests:
        threading.Event().wait(0.01)
    fakes.stop()
    caller.join(timeout=10)

    assert not caller.is_alive() and len(outcome) == 1 and fakes.disconnects == []
