"""The AI proxy's decisions and records (SPEC §6), all on worker threads: what a call may do before it leaves
(rate limits, key choice, quota, context) and what it cost once it ended (a UsageMetric per provider call,
the user key's counters). The provider call itself runs on the event loop (`documents.ai.views`)."""

from __future__ import annotations

import datetime
import hashlib
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, F, FloatField, Sum
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.utils import timezone

from accounts import encryption
from accounts.models import ApiKey, UsageMetric
from documents.ai import providers
from documents.ai.context import Context, context_for
from documents.ai.errors import AiDisabledError, AiProviderUnavailableError, QuotaExceededError
from mdcreator import ratelimit
from mdcreator.errors import ConflictError, NotFoundError, ValidationProblem
from mdcreator.validation import uuid_or_404
from workspaces.selectors import workspace_get

SERVER, USER = "server", "user"
MAX_KEYS_PER_PROVIDER = 10


@dataclass
class Plan:
    """A call the checks let through: everything the event loop needs, nothing it must ask the database."""

    user_id: object
    endpoint: str
    call: providers.Call
    key_source: str
    api_key_id: object = None
    workspace_id: object = None
    context: Context = field(default_factory=Context)
    streamed: bool = False
    started_at: datetime.datetime = field(default_factory=timezone.now)


def default_model(provider: str) -> str:
    return models_of(provider)[0]


def models_of(provider: str) -> list[str]:
    return settings.AI_MODELS_OPENAI if provider == providers.OPENAI else settings.AI_MODELS_ANTHROPIC


def _server_key(provider: str) -> str:
    return settings.OPENAI_API_KEY if provider == providers.OPENAI else settings.ANTHROPIC_API_KEY


def available_provider(user) -> str:
    """The first provider the caller has a key for (theirs or the server's); openai when none has one."""
    own = set(ApiKey.objects.filter(user=user, is_active=True, revoked_at__isnull=True).values_list("provider", flat=True))
    for provider in providers.PROVIDERS:
        if provider in own or _server_key(provider):
            return provider
    return providers.OPENAI


@dataclass(frozen=True)
class Ask:
    """What the caller asked for, validated."""

    provider: str
    prompt: str
    model: str | None = None
    system: str = ""
    context_ids: tuple = ()
    workspace_id: object = None
    temperature: float | None = None
    max_tokens: int | None = None
    stream: bool = False


def plan_call(*, user, endpoint: str, ask: Ask) -> Plan:
    """Everything checked, in the order a caller can fix: the workspace, the rates, the key, the quota, the
    context. Raises the matching problem."""
    provider, workspace_id = ask.provider, ask.workspace_id
    model = ask.model or default_model(provider)
    if model not in models_of(provider):
        raise ValidationProblem({"model": [f"Not offered for {provider}: one of {', '.join(models_of(provider))}."]})
    if workspace_id is not None:
        workspace, _ = workspace_get(user=user, workspace_id=workspace_id, with_counts=False)
        if (workspace.settings or {}).get("ai_enabled", True) is False:
            raise AiDisabledError()
    ratelimit.hit("ai", str(user.pk), settings.RATE_LIMIT_AI)
    ratelimit.hit("ai-hour", str(user.pk), settings.RATE_LIMIT_AI_HOURLY)
    key, key_source, api_key_id = _key_for(user, provider)
    if key_source == SERVER:
        _check_quota(user)
    context = context_for(user=user, ids=list(ask.context_ids)) if ask.context_ids else Context()
    system_text = "\n\n".join(part for part in (ask.system, context.system_text()) if part)
    call = providers.Call(
        provider=provider, model=model, key=key, prompt=ask.prompt, system=system_text, temperature=ask.temperature,
        max_tokens=ask.max_tokens or 1024, timeout=settings.AI_TIMEOUT_SECONDS,
    )
    return Plan(user_id=user.pk, endpoint=endpoint, call=call, key_source=key_source, api_key_id=api_key_id,
                workspace_id=workspace_id or context.workspace_id, context=context, streamed=ask.stream)


def _key_for(user, provider: str) -> tuple[str, str, object]:
    """The caller's newest active key for the provider (decrypted here, for this call), else the server's."""
    own = (
        ApiKey.objects.filter(user=user, provider=provider, is_active=True, revoked_at__isnull=True)
        .order_by("-created_at").values_list("pk", "encrypted_key").first()
    )
    if own is not None:
        try:
            return encryption.decrypt(own[1]), USER, own[0]
        except encryption.InvalidToken:  # encrypted under a key no longer configured: unusable, say so
            ApiKey.objects.filter(pk=own[0]).update(
                is_valid=False, validation_error="The key can no longer be decrypted; add it again."
            )
    server_key = _server_key(provider)
    if not server_key:
        raise AiProviderUnavailableError()
    return server_key, SERVER, None


def month_bounds(month: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    start = datetime.datetime(month.year, month.month, 1, tzinfo=datetime.UTC)
    end = datetime.datetime(month.year + (month.month == 12), month.month % 12 + 1, 1, tzinfo=datetime.UTC)
    return start, end


def quota_of(user) -> int | None:
    return settings.AI_MONTHLY_TOKEN_QUOTA.get(user.subscription_tier)


def _server_tokens(user, start, end) -> int:
    return (
        UsageMetric.objects.filter(
            user=user, metric_type=UsageMetric.MetricType.AI_TOKEN, period_start__gte=start, period_start__lt=end,
            metadata__key_source=SERVER,
        ).aggregate(total=Sum("value"))["total"] or 0
    )


def _check_quota(user) -> None:
    quota = quota_of(user)
    if quota is None:
        return
    if _server_tokens(user, *month_bounds(timezone.now().date())) >= quota:
        raise QuotaExceededError()


def cost_of(model: str, usage: providers.Usage) -> float:
    prompt_price, completion_price = settings.AI_PRICES.get(model, (0, 0))
    return round((usage.prompt_tokens * prompt_price + usage.completion_tokens * completion_price) / 1_000_000, 8)


def record(plan: Plan, usage: providers.Usage, status: str, key_rejected: bool = False) -> float:
    """The call's UsageMetric and the user key's counters, in one transaction; returns the cost estimate."""
    cost = cost_of(plan.call.model, usage)
    now = timezone.now()
    with transaction.atomic():
        UsageMetric.objects.create(
            user_id=plan.user_id, workspace_id=plan.workspace_id, metric_type=UsageMetric.MetricType.AI_TOKEN,
            value=usage.total, period_start=plan.started_at, period_end=now, recorded_at=now,
            metadata={
                "provider": plan.call.provider, "model": plan.call.model, "endpoint": plan.endpoint,
                "prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens,
                "cost_estimate_usd": cost, "key_source": plan.key_source, "streamed": plan.streamed,
                "status": status, "tokens_estimated": not usage.reported,
            },
        )
        if plan.api_key_id is not None:
            changes = {"last_used_at": now, "usage_count": F("usage_count") + 1}
            if key_rejected:
                changes.update(is_valid=False, validation_error="The provider rejected this key.")
            ApiKey.objects.filter(pk=plan.api_key_id).update(**changes)
    return cost


# --- keys -----------------------------------------------------------------------------------------------


def key_hash(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def key_list(*, user):
    return ApiKey.objects.filter(user=user, revoked_at__isnull=True).order_by("-created_at")


def key_check_new(*, user, provider: str, api_key: str) -> None:
    """Refuse before any provider call: a key already active here (409), or too many keys."""
    ratelimit.hit("ai", str(user.pk), settings.RATE_LIMIT_AI)  # validation calls are provider calls too
    live = ApiKey.objects.filter(user=user, provider=provider, revoked_at__isnull=True)
    if live.filter(key_hash=key_hash(api_key)).exists():
        raise ConflictError("This key is already stored.")
    if live.count() >= MAX_KEYS_PER_PROVIDER:
        raise ValidationProblem({"api_key": [f"At most {MAX_KEYS_PER_PROVIDER} keys per provider; delete one first."]})


@transaction.atomic
def key_store(*, user, provider: str, api_key: str, name: str, description: str) -> ApiKey:
    """Store a key the provider accepted: encrypted, hashed, its last four characters kept for display.
    A key deleted before comes back as the same row."""
    digest = key_hash(api_key)
    fields = {"encrypted_key": encryption.encrypt(api_key), "last4": api_key[-4:], "name": name,
              "description": description, "is_active": True, "is_valid": True, "validation_error": "",
              "revoked_at": None, "created_at": timezone.now()}
    row = ApiKey.objects.select_for_update().filter(user=user, provider=provider, key_hash=digest).first()
    if row is not None and row.revoked_at is None:
        raise ConflictError("This key is already stored.")
    if row is not None:
        for name_, value in fields.items():
            setattr(row, name_, value)
        row.usage_count, row.last_used_at = 0, None
        row.save()
        return row
    try:
        with transaction.atomic():
            return ApiKey.objects.create(user=user, provider=provider, key_hash=digest, **fields)
    except IntegrityError:  # the same key added twice at once
        raise ConflictError("This key is already stored.") from None


def key_revoke(*, user, key_id) -> None:
    """Revoke a key: inactive, and its ciphertext wiped (nothing of the secret stays). 404 when not the caller's."""
    updated = ApiKey.objects.filter(pk=uuid_or_404(key_id), user=user, revoked_at__isnull=True).update(
        is_active=False, revoked_at=timezone.now(), encrypted_key=""
    )
    if not updated:
        raise NotFoundError("No API key with this id.")


# --- usage ----------------------------------------------------------------------------------------------


def usage_of(*, user, month: datetime.date) -> dict:
    """The month's AI calls of the caller: totals, the quota on the server's key, and by provider."""
    start, end = month_bounds(month)
    rows = (
        UsageMetric.objects.filter(user=user, metric_type=UsageMetric.MetricType.AI_TOKEN,
                                   period_start__gte=start, period_start__lt=end)
        .values(provider=KT("metadata__provider"), source=KT("metadata__key_source"))
        .annotate(tokens=Sum("value"), calls=Count("pk"),
                  cost=Sum(Cast(KT("metadata__cost_estimate_usd"), FloatField())))
        .order_by()
    )
    by_provider: dict[str, dict] = {}
    server_tokens = 0
    for row in rows:
        entry = by_provider.setdefault(row["provider"], {"tokens_used": 0, "requests": 0, "cost_estimate": 0.0})
        entry["tokens_used"] += row["tokens"] or 0
        entry["requests"] += row["calls"]
        entry["cost_estimate"] = round(entry["cost_estimate"] + (row["cost"] or 0.0), 8)
        if row["source"] == SERVER:
            server_tokens += row["tokens"] or 0
    return {
        "period": f"{month.year:04d}-{month.month:02d}",
        "tokens_used": sum(entry["tokens_used"] for entry in by_provider.values()),
        "quota_tokens": quota_of(user),
        "quota_tokens_used": server_tokens,
        "requests": sum(entry["requests"] for entry in by_provider.values()),
        "cost_estimate": round(sum(entry["cost_estimate"] for entry in by_provider.values()), 8),
        "by_provider": by_provider,
    }
