"""`ai/*` (SPEC §3.8, §6). The checks and the records run on worker threads like every view; the provider call
runs on the event loop (`AwaitedResponse`, or an async stream of server-sent events), so a call that waits a
minute on the provider holds no thread and never blocks other requests. A client that goes away cancels the
provider call at once; the usage so far is still recorded."""

from __future__ import annotations

import asyncio
import datetime
import json
import logging

from channels.db import database_sync_to_async
from django.conf import settings
from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from documents.ai import diagram, providers, service
from documents.ai.errors import AiProviderError, AiProviderTimeoutError, InvalidApiKeyError
from mdcreator.errors import ProblemError
from mdcreator.fields import FloatField, IntegerField, StrictBooleanField, StrictCharField, StrictUUIDField
from mdcreator.handlers import AwaitedResponse
from mdcreator.problems import problem_body
from mdcreator.timestamps import utc_timestamp, utc_timestamp_or_none
from mdcreator.validation import validated

logger = logging.getLogger(__name__)
PROMPT_MAX = 20_000
CONTEXT_IDS_MAX = 10


class OptionsSerializer(serializers.Serializer):
    temperature = FloatField(min_value=0, max_value=2, required=False)
    max_tokens = IntegerField(min_value=1, max_value=4096, required=False)


class _CallSerializer(serializers.Serializer):
    provider = serializers.ChoiceField(choices=providers.PROVIDERS)
    model = StrictCharField(max_length=100, required=False)
    context_ids = serializers.ListField(child=StrictUUIDField(), max_length=CONTEXT_IDS_MAX, required=False)
    workspace_id = StrictUUIDField(required=False)


class GenerateSerializer(_CallSerializer):
    prompt = StrictCharField(max_length=PROMPT_MAX, trim_whitespace=False)
    system = StrictCharField(max_length=PROMPT_MAX, required=False, allow_blank=True, trim_whitespace=False)
    stream = StrictBooleanField(required=False, default=False)
    options = OptionsSerializer(required=False)


class DiagramSerializer(_CallSerializer):
    provider = serializers.ChoiceField(choices=providers.PROVIDERS, required=False)
    description = StrictCharField(max_length=PROMPT_MAX, trim_whitespace=False)
    diagram_type = serializers.ChoiceField(choices=diagram.DIAGRAM_TYPES)


class KeySerializer(serializers.Serializer):
    provider = serializers.ChoiceField(choices=providers.PROVIDERS)
    api_key = StrictCharField(min_length=8, max_length=500, write_only=True)
    name = StrictCharField(max_length=100, required=False, allow_blank=True, default="")
    description = StrictCharField(max_length=2000, required=False, allow_blank=True, default="")

    def validate_api_key(self, value: str) -> str:
        if not value.isascii() or any(char.isspace() for char in value) or not value.isprintable():
            raise serializers.ValidationError("An API key is printable ASCII with no spaces.")
        return value


GENERATED = inline_serializer("AiGenerated", {
    "content": serializers.CharField(), "provider": serializers.CharField(), "model": serializers.CharField(),
    "tokens_used": serializers.IntegerField(), "prompt_tokens": serializers.IntegerField(),
    "completion_tokens": serializers.IntegerField(), "cost_estimate": serializers.FloatField(),
    "key_source": serializers.CharField(), "context_truncated": serializers.BooleanField(),
    "context_skipped": serializers.ListField(child=serializers.DictField()), "generated_at": serializers.CharField(),
})
DIAGRAM = inline_serializer("AiDiagram", {
    "mermaid_code": serializers.CharField(), "diagram_type": serializers.CharField(),
    "validated": serializers.BooleanField(), "provider": serializers.CharField(), "model": serializers.CharField(),
    "tokens_used": serializers.IntegerField(),
})
KEY_FIELDS = {
    "id": serializers.UUIDField(), "provider": serializers.CharField(), "name": serializers.CharField(),
    "last4": serializers.CharField(), "is_active": serializers.BooleanField(), "is_valid": serializers.BooleanField(),
    "last_used_at": serializers.CharField(allow_null=True), "usage_count": serializers.IntegerField(),
    "created_at": serializers.CharField(),
}
KEY = inline_serializer("AiKey", KEY_FIELDS)


def _json(body: dict, status: int = 200) -> HttpResponse:
    return HttpResponse(json.dumps(body), status=status, content_type="application/json")


def _problem(error: providers.ProviderError) -> ProblemError:
    if isinstance(error, providers.ProviderTimedOut):
        return AiProviderTimeoutError(error.detail)
    return AiProviderError(error.detail)


def _status(error: providers.ProviderError) -> str:
    return "timeout" if isinstance(error, providers.ProviderTimedOut) else "error"


_record = database_sync_to_async(service.record)


async def _record_cut_short(plan: service.Plan, usage: providers.Usage, status: str, key_rejected: bool = False):
    """Record a call cut short. Awaited while the request's task is being cancelled: shielded, so a second
    cancellation cannot lose the record (it then finishes on its own)."""
    await asyncio.shield(_record(plan, usage, status, key_rejected))


def _ask(data: dict) -> service.Ask:
    options = data.get("options") or {}
    return service.Ask(
        provider=data["provider"], model=data.get("model"), prompt=data["prompt"], system=data.get("system", ""),
        context_ids=tuple(data.get("context_ids") or ()), workspace_id=data.get("workspace_id"),
        temperature=options.get("temperature"), max_tokens=options.get("max_tokens"), stream=data.get("stream", False),
    )


async def _completed(plan: service.Plan) -> tuple[str, providers.Usage, float]:
    """The whole reply, recorded; a failure is recorded and raised as its problem."""
    call = plan.call
    try:
        text, usage = await providers.complete(call)
    except providers.ProviderError as error:
        estimate = providers.Usage(providers.estimate_tokens(call.system + call.prompt), 0)
        await _record(plan, estimate, _status(error), isinstance(error, providers.KeyRejected))
        raise _problem(error) from None
    except asyncio.CancelledError:
        await _record_cut_short(plan, providers.Usage(providers.estimate_tokens(call.system + call.prompt), 0),
                                "cancelled")
        raise
    return text, usage, await _record(plan, usage, "success")


class GenerateView(APIView):
    """`POST ai/generate`: a reply, whole (JSON) or streamed (server-sent events)."""

    @extend_schema(tags=["ai"], request=GenerateSerializer, responses={
        200: OpenApiResponse(GENERATED, description="JSON, or text/event-stream when `stream` is true")})
    def post(self, request):
        data = validated(GenerateSerializer, request.data)
        plan = service.plan_call(user=request.user, endpoint="generate", ask=_ask(data))
        if plan.streamed:
            response = StreamingHttpResponse(_events(plan), content_type="text/event-stream")
            response["Cache-Control"] = "no-cache"
            response["X-Accel-Buffering"] = "no"  # proxies pass each event on as it comes
            return response
        path = request.path

        async def produce():
            try:
                text, usage, cost = await _completed(plan)
            except ProblemError as problem:
                return _problem_at(problem, path)
            return _json({
                "content": text, **_usage_body(plan, usage, cost), "key_source": plan.key_source,
                "context_truncated": plan.context.truncated, "context_skipped": plan.context.skipped,
            })

        return AwaitedResponse(produce)


def _problem_at(problem: ProblemError, path: str) -> HttpResponse:
    response = _json(problem_body(problem, instance=path), status=problem.status)
    response["Content-Type"] = "application/problem+json"
    return response


def _usage_body(plan: service.Plan, usage: providers.Usage, cost: float) -> dict:
    return {
        "provider": plan.call.provider, "model": plan.call.model, "tokens_used": usage.total,
        "prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens, "cost_estimate": cost,
        "generated_at": utc_timestamp(),
    }


def _event(name: str, data: dict) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


async def _events(plan: service.Plan):
    """The reply as server-sent events: `delta`s, then `done` with the usage, or `error` with a problem; a
    keep-alive comment whenever the provider is silent for `AI_STREAM_KEEPALIVE_SECONDS`."""
    stream = providers.Stream(plan.call)
    deltas = stream.deltas()
    pending: asyncio.Future | None = None
    status, rejected = "cancelled", False
    try:
        while True:
            pending = asyncio.ensure_future(anext(deltas))
            while not (await asyncio.wait({pending}, timeout=settings.AI_STREAM_KEEPALIVE_SECONDS))[0]:
                yield b": keep-alive\n\n"
            try:
                delta = pending.result()
            except StopAsyncIteration:
                break
            finally:
                pending = None
            yield _event("delta", {"content": delta})
    except providers.ProviderError as error:
        status, rejected = _status(error), isinstance(error, providers.KeyRejected)
        yield _event("error", problem_body(_problem(error)))
        return
    else:
        status = "success"
    finally:
        if pending is not None:  # cut short while the provider was being read: stop reading it now
            pending.cancel()
            await asyncio.gather(pending, return_exceptions=True)
        await deltas.aclose()
        if status != "success":
            await _record_cut_short(plan, stream.usage, status, rejected)
    cost = await _record(plan, stream.usage, "success")
    yield _event("done", _usage_body(plan, stream.usage, cost))


class DiagramView(APIView):
    """`POST ai/generate-diagram`: Mermaid code for a description."""

    @extend_schema(tags=["ai"], request=DiagramSerializer, responses=DIAGRAM)
    def post(self, request):
        data = validated(DiagramSerializer, request.data)
        kind = data["diagram_type"]
        ask = service.Ask(
            provider=data.get("provider") or service.available_provider(request.user), model=data.get("model"),
            prompt=data["description"], system=diagram.instructions(kind),
            context_ids=tuple(data.get("context_ids") or ()), workspace_id=data.get("workspace_id"),
        )
        plan = service.plan_call(user=request.user, endpoint="generate-diagram", ask=ask)
        path = request.path

        async def produce():
            try:
                text, usage, _ = await _completed(plan)
            except ProblemError as problem:
                return _problem_at(problem, path)
            code = diagram.strip_fences(text)
            return _json({
                "mermaid_code": code, "diagram_type": kind, "validated": diagram.is_valid(code, kind),
                "provider": plan.call.provider, "model": plan.call.model, "tokens_used": usage.total,
                "key_source": plan.key_source,
            })

        return AwaitedResponse(produce)


def key_body(key) -> dict:
    return {
        "id": str(key.pk), "provider": key.provider, "name": key.name, "last4": key.last4,
        "is_active": key.is_active, "is_valid": key.is_valid, "last_used_at": utc_timestamp_or_none(key.last_used_at),
        "usage_count": key.usage_count, "created_at": utc_timestamp(key.created_at),
    }


class KeysView(APIView):
    """`ai/keys`: the caller's own provider keys (never the key itself, only its last four characters)."""

    @extend_schema(tags=["ai"], responses=inline_serializer("AiKeys", {"keys": inline_serializer("AiKeyItem", KEY_FIELDS, many=True)}))
    def get(self, request):
        return Response({"keys": [key_body(key) for key in service.key_list(user=request.user)]})

    @extend_schema(tags=["ai"], request=KeySerializer, responses={201: KEY})
    def post(self, request):
        data = validated(KeySerializer, request.data)
        user, provider, api_key = request.user, data["provider"], data["api_key"]
        service.key_check_new(user=user, provider=provider, api_key=api_key)

        async def produce():
            try:
                await providers.validate_key(provider, api_key, settings.AI_KEY_VALIDATION_TIMEOUT_SECONDS)
            except providers.KeyRejected:
                return _problem_at(InvalidApiKeyError(), "/api/v1/ai/keys")
            except providers.ProviderError as error:
                return _problem_at(_problem(error), "/api/v1/ai/keys")
            try:
                key = await database_sync_to_async(service.key_store)(
                    user=user, provider=provider, api_key=api_key, name=data["name"], description=data["description"]
                )
            except ProblemError as problem:
                return _problem_at(problem, "/api/v1/ai/keys")
            return _json(key_body(key), status=201)

        return AwaitedResponse(produce)


class KeyView(APIView):
    @extend_schema(tags=["ai"], responses={204: None})
    def delete(self, request, pk=None):
        service.key_revoke(user=request.user, key_id=pk)
        return Response(status=204)


class UsageSerializer(serializers.Serializer):
    month = serializers.RegexField(r"^(?!0000)[0-9]{4}-(0[1-9]|1[0-2])\Z", required=False,
                                   error_messages={"invalid": "A month as YYYY-MM."})


class UsageView(APIView):
    """`GET ai/usage?month=YYYY-MM`: the caller's AI usage of a month (this one by default, UTC)."""

    @extend_schema(tags=["ai"], parameters=[OpenApiParameter("month", str, required=False)],
                   responses=inline_serializer("AiUsage", {
                       "period": serializers.CharField(), "tokens_used": serializers.IntegerField(),
                       "quota_tokens": serializers.IntegerField(allow_null=True),
                       "quota_tokens_used": serializers.IntegerField(), "requests": serializers.IntegerField(),
                       "cost_estimate": serializers.FloatField(), "by_provider": serializers.DictField()}))
    def get(self, request):
        month = validated(UsageSerializer, request.query_params).get("month")
        day = datetime.date.fromisoformat(f"{month}-01") if month else timezone.now().date()
        return Response(service.usage_of(user=request.user, month=day))
