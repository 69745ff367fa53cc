"""Fake OpenAI (Chat Completions) and Anthropic (Messages) servers on loopback, for the AI proxy's tests and benchmarks.

`FakeProviders()` runs one `ThreadingHTTPServer` on 127.0.0.1 and a free port; point the official SDKs at it with
`openai.OpenAI(base_url=fakes.openai_base_url, ...)` and `anthropic.Anthropic(base_url=fakes.anthropic_base_url, ...)`.

Endpoints: `POST /openai/v1/chat/completions`, `GET /openai/v1/models`, `POST /anthropic/v1/messages`,
`GET /anthropic/v1/models`; anything else is the provider's 404. Keys: `valid_keys["openai"]` (sent as
`Authorization: Bearer`) and `valid_keys["anthropic"]` (`x-api-key`, else `Authorization: Bearer`, which is what
anthropic 2.x sends for `api_key`); a provider left out of `FakeProviders(valid_keys)` keeps its DEFAULT_KEYS. The
sets may change while running. Any other key is a 401 with the provider's error body (OpenAI quotes the key masked,
`sk-ab***...wxyz`; Anthropic says "invalid x-api-key").

Reply: "Echo: " + the first 200 characters of the last user message (directives removed, whitespace stripped),
streamed one word per chunk. Usage: prompt tokens = characters of all input text (system and every message)
// 4, completion tokens = reply characters // 4, each at least 1; given in the non-stream body, in OpenAI's final
usage chunk when `stream_options={"include_usage": true}`, and in Anthropic's message_start / message_delta.

Directives, anywhere in the last user message (text content or text parts):
  [[reply]]TEXT[[/reply]]   reply exactly TEXT: any characters, newlines, backticks and `]]` included (without the
                            closing tag, TEXT runs to the end of the message). Directives inside TEXT are inert.
  [[reply:TEXT]]            short form: TEXT may hold newlines and backticks but not `]]`.
  [[chunks:N]]              stream the reply in N pieces (word groups; characters when there are fewer words).
  [[interval:SECONDS]]      pause between streamed pieces.
  [[first-token-delay:SECONDS]]  pause before the first piece (the stream's headers and preamble go out first:
                            OpenAI's role chunk; Anthropic's message_start, content_block_start and ping).
                            Without streaming, pause before answering.
  [[error-mid-stream]]      after the first piece, OpenAI sends `data: {"error": {...}}` (the SDK raises APIError);
                            Anthropic sends `event: error` with an overloaded_error (the SDK raises APIStatusError).
  [[status:CODE]]           answer CODE with the provider's error body (e.g. 400, 403, 404, 429, 500, 503, 529).
  [[hang]]                  read the request and never answer, until the client goes away or the server stops.
  [[no-usage]]              omit usage: OpenAI's body `usage` and final usage chunk; Anthropic's `usage` objects
                            (the anthropic `messages.stream()` helper cannot accumulate such a stream).
  [[mention-key]]           an error (400, or the [[status]] given) whose message quotes the request's key in full.
  [[truncated]]             finish_reason "length" / stop_reason "max_tokens" instead of "stop" / "end_turn".
Precedence: [[hang]], then [[status]] / [[mention-key]], then the reply. A malformed value is ignored. A pause
notices a client that goes away within ~10 ms; it then ends the response.

Recorded, thread-safe (lists cleared in place by `reset()`):
  fakes.requests     {provider, path (no query), method, key (None when absent), body (parsed JSON or None),
                      started_at (time.monotonic())}, on every request, before the key is checked
  fakes.disconnects  {provider, path, detected_at (time.monotonic()), chunks_sent (reply pieces sent)}
                     appended when a streaming, pausing or hanging response finds its client gone.
  fakes.wait_disconnect(timeout=5.0, *, count=1)  the count-th disconnect once recorded, else None after timeout.
  fakes.reset(*, keys=False)  clears both lists; with keys=True also restores the construction-time keys.
Fixtures (the project's conftest.py): `fake_providers_server` (session, one server) and `fake_providers` (per test: reset(keys=True)).

HTTP/1.1 keep-alive: non-stream replies carry Content-Length; SSE replies use chunked transfer encoding, ending
with the zero-size chunk, so the connection stays reusable (as the real providers do). (The sync openai client still
drops its connection after `[DONE]`, as it stops reading there; the async one drains and reuses it.)
"""

from __future__ import annotations

import contextlib
import json
import re
import select
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEFAULT_KEYS = {"openai": {"sk-server-openai"}, "anthropic": {"sk-ant-server"}}
POLL_SECONDS = 0.01

OPENAI_ERRORS = {  # status: (type, code, message)
    400: ("invalid_request_error", None, "Invalid request."),
    403: ("invalid_request_error", "unsupported_country_region_territory", "Country, region, or territory not supported."),
    404: ("invalid_request_error", "model_not_found", "The model does not exist or you do not have access to it."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests per min (RPM): Limit 3, Used 3, "
          "Requested 1. Please try again in 20s."),
    500: ("server_error", None, "The server had an error while processing your request. Sorry about that!"),
    503: ("server_error", None, "The engine is currently overloaded, please try again later."),
}
ANTHROPIC_ERRORS = {  # status: (type, message)
    400: ("invalid_request_error", "Invalid request."),
    403: ("permission_error", "Your API key does not have permission to use the specified resource."),
    404: ("not_found_error", "Not found."),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    429: ("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit."),
    500: ("api_error", "Internal server error"),
    529: ("overloaded_error", "Overloaded"),
}
MODELS = {"openai": ["gpt-4o-mini", "gpt-4o"], "anthropic": ["claude-sonnet-4-5", "claude-haiku-4-5"]}

_REPLY_BLOCK = re.compile(r"\[\[reply\]\](.*?)(?:\[\[/reply\]\]|\Z)", re.DOTALL)
_REPLY_SHORT = re.compile(r"\[\[reply:(.*?)\]\]", re.DOTALL)
_DIRECTIVE = re.compile(r"\[\[([a-z-]+)(?::([^\]]*))?\]\]")


class _ClientGone(Exception):
    """The client closed its connection."""


class _Stopping(Exception):
    """The server is stopping: abandon the response without recording a disconnect."""


@dataclass
class Script:
    """What the last user message asks of the fake; `text` is that message without its directives."""

    text: str = ""
    reply: str | None = None
    chunks: int | None = None
    interval: float = 0.0
    first_token_delay: float = 0.0
    error_mid_stream: bool = False
    status: int | None = None
    hang: bool = False
    no_usage: bool = False
    mention_key: bool = False
    truncated: bool = False


def parse_script(message: str) -> Script:
    """The directives of one user message (reply blocks first, so directives quoted inside a reply are inert)."""
    script = Script()
    for pattern in (_REPLY_BLOCK, _REPLY_SHORT):
        match = pattern.search(message)
        if match and script.reply is None:
            script.reply = match.group(1)
            message = message[: match.start()] + message[match.end():]
    converters = {"chunks": int, "interval": float, "first-token-delay": float, "status": int}
    for name, value in _DIRECTIVE.findall(message):
        attribute = name.replace("-", "_")
        if name in converters:
            with contextlib.suppress(ValueError):  # a malformed value leaves the default
                setattr(script, attribute, converters[name](value))
        elif hasattr(script, attribute) and attribute not in ("text", "reply"):
            setattr(script, attribute, True)
    script.text = _DIRECTIVE.sub("", message).strip()
    return script


def _text(content) -> str:
    """The text of a message content: a string, or a list of parts with `text` (both providers' shapes)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def split_reply(reply: str, chunks: int | None) -> list[str]:
    """The streamed pieces: one per word by default, else `chunks` word groups (characters if words are fewer)."""
    words = re.findall(r"\s*\S+\s*|\s+", reply) or [reply]
    if chunks is None:
        return words
    units = words if len(words) >= chunks else list(reply)
    count = max(1, min(chunks, len(units)))
    bounds = [i * len(units) // count for i in range(count + 1)]
    return ["".join(units[bounds[i]:bounds[i + 1]]) for i in range(count)]


@dataclass
class Turn:
    """One chat exchange as the fake will answer it."""

    script: Script
    reply: str
    pieces: list[str]
    prompt_tokens: int
    completion_tokens: int
    model: str


def plan_turn(provider: str, body: dict) -> Turn:
    """The reply, pieces and usage for a chat request body of `provider`."""
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    texts = [_text(m.get("content")) for m in messages]
    if provider == "anthropic":
        texts.append(_text(body.get("system")))
    last_user = next((_text(m.get("content")) for m in reversed(messages) if m.get("role") == "user"), "")
    script = parse_script(last_user)
    reply = script.reply if script.reply is not None else "Echo: " + script.text[:200]
    return Turn(script=script, reply=reply, pieces=split_reply(reply, script.chunks),
                prompt_tokens=max(1, sum(map(len, texts)) // 4), completion_tokens=max(1, len(reply) // 4),
                model=str(body.get("model") or MODELS[provider][0]))


def mask_key(key: str) -> str:
    """The key as OpenAI quotes it in a 401: a few first and the last four characters."""
    return f"{key[:5]}***...{key[-4:]}" if len(key) > 12 else f"{key[:2]}***"


def openai_error(status: int, key: str | None = None, *, quote: bool = False) -> dict:
    """OpenAI's error body for `status`: a 401 quotes `key` masked; with `quote`, the message holds `key` in full."""
    if quote:
        kind, code, message = "invalid_request_error", None, f"The API key {key} may not be used for this request."
    elif status == 401:
        message = (f"Incorrect API key provided: {mask_key(key)}. You can find your API key at "
                   "https://platform.openai.com/account/api-keys." if key else
                   "You didn't provide an API key. You need to provide your API key in an Authorization header "
                   "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).")
        kind, code = "invalid_request_error", "invalid_api_key" if key else None
    else:
        kind, code, message = OPENAI_ERRORS.get(status, ("server_error" if status >= 500 else "invalid_request_error",
                                                         None, f"Request failed with status {status}."))
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def anthropic_error(status: int, key: str | None = None, *, quote: bool = False) -> dict:
    """Anthropic's error body for `status`; with `quote`, the message holds `key` in full."""
    if quote:
        kind, message = "invalid_request_error", f"x-api-key {key} may not be used for this request."
    elif status == 401:
        kind, message = "authentication_error", "invalid x-api-key" if key else "x-api-key header is required"
    else:
        kind, message = ANTHROPIC_ERRORS.get(status, ("api_error" if status >= 500 else "invalid_request_error",
                                                      f"Request failed with status {status}."))
    return {"type": "error", "error": {"type": kind, "message": message}, "request_id": f"req_{uuid.uuid4().hex}"}


def openai_usage(turn: Turn) -> dict:
    """OpenAI's usage block."""
    return {"prompt_tokens": turn.prompt_tokens, "completion_tokens": turn.completion_tokens,
            "total_tokens": turn.prompt_tokens + turn.completion_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                          "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}}


def _models_body(provider: str) -> dict:
    if provider == "openai":
        return {"object": "list", "data": [{"id": m, "object": "model", "created": 1715367049, "owned_by": "system"}
                                           for m in MODELS["openai"]]}
    data = [{"type": "model", "id": m, "display_name": m, "created_at": "2025-09-29T00:00:00Z", "lifecycle": "active"}
            for m in MODELS["anthropic"]]
    return {"data": data, "has_more": False, "first_id": data[0]["id"], "last_id": data[-1]["id"]}


class _Handler(BaseHTTPRequestHandler):
    """One connection; `self.server.fakes` is the owning FakeProviders."""

    protocol_version = "HTTP/1.1"
    server_version = "fake-ai-provider"

    def setup(self):
        super().setup()
        # Each SSE event goes out at once, as from the real APIs (Nagle would hold it for the client's delayed ACK).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.fakes._connections.add(self.connection)
        self.poller = select.poll()
        self.poller.register(self.connection, select.POLLIN)
        self.chunks_sent = 0

    def finish(self):
        self.server.fakes._connections.discard(self.connection)
        super().finish()

    def log_message(self, format, *args):
        pass

    def do_POST(self):
        self._dispatch(chat=self.command == "POST")

    do_GET = do_POST

    def _dispatch(self, *, chat: bool) -> None:
        path = self.path.split("?", 1)[0]
        provider = next((p for p in ("openai", "anthropic") if path.startswith(f"/{p}/v1/")), None)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        key = self._key(provider)
        self.server.fakes._record("requests", {"provider": provider, "path": path, "method": self.command,
                                               "key": key, "body": body, "started_at": time.monotonic()})
        self.provider, self.chunks_sent = provider, 0
        expected = "models" if not chat else "chat/completions" if provider == "openai" else "messages"
        if provider is None or path != f"/{provider}/v1/{expected}":
            return self._error(404, None)
        if key not in self.server.fakes.valid_keys.get(provider, ()):
            return self._error(401, key)
        if not chat:
            return self._json(200, _models_body(provider))
        try:
            self._chat(plan_turn(provider, body if isinstance(body, dict) else {}), body or {}, key)
        except _ClientGone:
            self.close_connection = True
            if self.server.fakes._stopping.is_set():  # the server shut the socket: not the client's doing
                return None
            self.server.fakes._record("disconnects", {"provider": provider, "path": path,
                                                      "detected_at": time.monotonic(),
                                                      "chunks_sent": self.chunks_sent})
        except _Stopping:
            self.close_connection = True

    def _key(self, provider: str | None) -> str | None:
        if provider == "anthropic" and self.headers.get("x-api-key") is not None:
            return self.headers.get("x-api-key")
        authorization = self.headers.get("Authorization") or ""
        return authorization.removeprefix("Bearer ") if authorization.startswith("Bearer ") else None

    def _chat(self, turn: Turn, body: dict, key: str) -> None:
        script = turn.script
        if script.hang:
            self._pause(float("inf"))
        if script.status is not None or script.mention_key:
            return self._error(script.status or 400, key, quote=script.mention_key)
        if not body.get("stream"):
            self._pause(script.first_token_delay)
            return self._json(200, (self._openai_body if self.provider == "openai" else self._anthropic_body)(turn))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self._request_id_header()
        self.end_headers()
        (self._openai_stream if self.provider == "openai" else self._anthropic_stream)(turn, body)
        self._write(b"0\r\n\r\n")

    def _request_id_header(self) -> None:
        name = "x-request-id" if self.provider == "openai" else "request-id"
        self.send_header(name, f"req_{uuid.uuid4().hex}")

    def _error(self, status: int, key: str | None, *, quote: bool = False) -> None:
        self._json(status, (anthropic_error if self.provider == "anthropic" else openai_error)(status, key, quote=quote))

    def _json(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self._request_id_header()
        self.end_headers()
        self._write(data)

    def _write(self, data: bytes) -> None:
        self._check_gone(0)
        try:
            self.wfile.write(data)
        except OSError as error:
            raise _ClientGone from error

    def _event(self, data: dict | str, event: str | None = None) -> None:
        text = data if isinstance(data, str) else json.dumps(data)
        frame = (f"event: {event}\n" if event else "") + f"data: {text}\n\n"
        payload = frame.encode()
        self._write(b"%x\r\n%s\r\n" % (len(payload), payload))

    def _check_gone(self, timeout: float) -> None:
        """Wait up to `timeout` for the client to close; raise _ClientGone if it did, _Stopping on shutdown."""
        if self.server.fakes._stopping.is_set():
            raise _Stopping
        try:
            readable = self.poller.poll(timeout * 1000)
            if readable and not self.connection.recv(1, socket.MSG_PEEK):
                raise _ClientGone
        except OSError as error:
            raise _ClientGone from error
        if readable:  # bytes from the client (not expected): don't spin on them
            time.sleep(timeout)

    def _pause(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self._check_gone(min(left, POLL_SECONDS))

    def _pieces(self, turn: Turn):
        """Yield the reply pieces at the scripted pace, counting them as sent once yielded."""
        self._pause(turn.script.first_token_delay)
        for index, piece in enumerate(turn.pieces):
            if index:
                self._pause(turn.script.interval)
            yield piece
            self.chunks_sent += 1
            if turn.script.error_mid_stream:
                return

    def _openai_body(self, turn: Turn) -> dict:
        body = {"id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "object": "chat.completion", "created": int(time.time()),
                "model": turn.model, "system_fingerprint": "fp_fake", "service_tier": "default",
                "choices": [{"index": 0, "logprobs": None, "finish_reason": self._stop_reason(turn),
                             "message": {"role": "assistant", "content": turn.reply, "refusal": None,
                                         "annotations": []}}]}
        if not turn.script.no_usage:
            body["usage"] = openai_usage(turn)
        return body

    def _stop_reason(self, turn: Turn) -> str:
        if self.provider == "openai":
            return "length" if turn.script.truncated else "stop"
        return "max_tokens" if turn.script.truncated else "end_turn"

    def _openai_stream(self, turn: Turn, body: dict) -> None:
        include_usage = bool((body.get("stream_options") or {}).get("include_usage")) and not turn.script.no_usage
        base = {"id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "object": "chat.completion.chunk",
                "created": int(time.time()), "model": turn.model, "system_fingerprint": "fp_fake",
                "service_tier": "default", **({"usage": None} if include_usage else {})}

        def choice(delta: dict, finish_reason: str | None = None) -> dict:
            return {**base, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}]}

        self._event(choice({"role": "assistant", "content": "", "refusal": None}))
        for piece in self._pieces(turn):
            self._event(choice({"content": piece}))
        if turn.script.error_mid_stream:
            return self._event({"error": {"message": "The server had an error while processing your request. "
                                          "Sorry about that!", "type": "server_error", "param": None, "code": None}})
        self._event(choice({}, self._stop_reason(turn)))
        if include_usage:
            self._event({**base, "choices": [], "usage": openai_usage(turn)})
        self._event("[DONE]")

    def _anthropic_body(self, turn: Turn) -> dict:
        body = {"id": f"msg_{uuid.uuid4().hex[:24]}", "type": "message", "role": "assistant", "model": turn.model,
                "content": [{"type": "text", "text": turn.reply}], "stop_reason": self._stop_reason(turn),
                "stop_sequence": None}
        if not turn.script.no_usage:
            body["usage"] = {"input_tokens": turn.prompt_tokens, "output_tokens": turn.completion_tokens,
                             "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                             "service_tier": "standard"}
        return body

    def _anthropic_stream(self, turn: Turn, body: dict) -> None:
        message = {**self._anthropic_body(turn), "content": [], "stop_reason": None}
        if "usage" in message:
            message["usage"] = {**message["usage"], "output_tokens": 1}
        self._event({"type": "message_start", "message": message}, "message_start")
        self._event({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
                    "content_block_start")
        self._event({"type": "ping"}, "ping")
        for piece in self._pieces(turn):
            self._event({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}},
                        "content_block_delta")
        if turn.script.error_mid_stream:
            return self._event({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
                               "error")
        self._event({"type": "content_block_stop", "index": 0}, "content_block_stop")
        delta = {"type": "message_delta", "delta": {"stop_reason": self._stop_reason(turn), "stop_sequence": None}}
        if not turn.script.no_usage:
            delta["usage"] = {"output_tokens": turn.completion_tokens}
        self._event(delta, "message_delta")
        self._event({"type": "message_stop"}, "message_stop")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # benchmarks open many connections at once

    def handle_error(self, request, client_address):
        """Clients that drop their connection are part of the script, not errors worth a traceback."""


class FakeProviders:
    """Both fake providers on one loopback server; see the module docstring for directives and recordings."""

    def __init__(self, valid_keys: dict[str, set[str]] | None = None):
        self._initial_keys = {p: set(k) for p, k in {**DEFAULT_KEYS, **(valid_keys or {})}.items()}
        self.valid_keys: dict[str, set[str]] = {p: set(k) for p, k in self._initial_keys.items()}
        self.requests: list[dict] = []
        self.disconnects: list[dict] = []
        self._changed = threading.Condition()
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> FakeProviders:
        """Listen on 127.0.0.1 and a free port, serving from a daemon thread."""
        self._stopping.clear()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fakes = self
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-ai-providers", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; hanging and pausing responses give up within ~10 ms, open connections are shut."""
        if self._server is None:
            return
        self._stopping.set()
        self._server.shutdown()
        for connection in list(self._connections):
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._server.server_close()
        self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> FakeProviders:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def openai_base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/openai/v1"

    @property
    def anthropic_base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/anthropic"

    def reset(self, *, keys: bool = False) -> None:
        """Clear `requests` and `disconnects` (in place); with `keys`, restore the keys given at construction."""
        with self._changed:
            self.requests.clear()
            self.disconnects.clear()
        if keys:
            for provider, initial in self._initial_keys.items():
                self.valid_keys.setdefault(provider, set()).clear()
                self.valid_keys[provider].update(initial)

    def wait_disconnect(self, timeout: float = 5.0, *, count: int = 1) -> dict | None:
        """The `count`-th recorded disconnect, once there is one; None if none comes within `timeout` seconds."""
        with self._changed:
            self._changed.wait_for(lambda: len(self.disconnects) >= count, timeout=timeout)
            return self.disconnects[count - 1] if len(self.disconnects) >= count else None

    def _record(self, kind: str, entry: dict) -> None:
        with self._changed:
            getattr(self, kind).append(entry)
            self._changed.notify_all()
