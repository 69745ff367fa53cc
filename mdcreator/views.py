"""Project-level views: health probes and Django's error handlers as problems."""

from __future__ import annotations

import logging
import time
import uuid

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view, authentication_classes, permission_classes, throttle_classes
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from mdcreator import errors
from mdcreator.problems import problem_for_status, problem_response

logger = logging.getLogger(__name__)

_STORAGE_CHECK_TTL = 30
_storage_check: dict[str, float | bool] = {"at": 0.0, "ok": False}


@extend_schema(
    tags=["health"],
    auth=[],
    responses={200: inline_serializer("Liveness", {"status": serializers.CharField()})},
)
@api_view(["GET", "HEAD"])  # HEAD: the web client's connectivity check
@authentication_classes([])
@permission_classes([AllowAny])
@throttle_classes([])
def healthz(request):
    """Liveness: the process answers; no dependency is touched."""
    return Response({"status": "ok"})


def _check_database() -> bool:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT 1")
        return cursor.fetchone()[0] == 1


def _check_migrations() -> bool:
    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    return not executor.migration_plan(executor.loader.graph.leaf_nodes())


def _check_cache() -> bool:
    key = f"readyz:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=5)
    ok = cache.get(key) == "1"
    cache.delete(key)
    return ok


def _check_channel_layer() -> bool:
    layer = get_channel_layer()

    async def round_trip() -> bool:
        channel = await layer.new_channel()
        await layer.send(channel, {"type": "readyz.ping"})
        message = await layer.receive(channel)
        return message.get("type") == "readyz.ping"

    return async_to_sync(round_trip)()


def _check_storage() -> bool:
    now = time.monotonic()
    if now - float(_storage_check["at"]) < _STORAGE_CHECK_TTL:
        return bool(_storage_check["ok"])
    if settings.STORAGE_IS_S3:
        connection = default_storage.connection
        connection.meta.client.head_bucket(Bucket=settings.AWS_STORAGE_BUCKET_NAME)
    else:
        settings.MEDIA_ROOT.mkdir(parents=True, exist_ok=True)
    _storage_check.update(at=now, ok=True)
    return True


READINESS_CHECKS = {
    "database": _check_database,
    "migrations": _check_migrations,
    "cache": _check_cache,
    "channel_layer": _check_channel_layer,
    "storage": _check_storage,
}


@extend_schema(
    tags=["health"],
    auth=[],
    responses={
        200: inline_serializer(
            "Readiness", {"status": serializers.CharField(), "checks": serializers.DictField(child=serializers.CharField())}
        ),
        503: inline_serializer(
            "NotReady",
            {
                "type": serializers.CharField(),
                "title": serializers.CharField(),
                "status": serializers.IntegerField(),
                "detail": serializers.CharField(),
                "instance": serializers.CharField(),
                "timestamp": serializers.CharField(),
                "trace_id": serializers.CharField(),
                "checks": serializers.DictField(child=serializers.CharField()),
            },
        ),
    },
)
@api_view(["GET", "HEAD"])  # HEAD: the web client's connectivity check
@authentication_classes([])
@permission_classes([AllowAny])
@throttle_classes([])
def readyz(request):
    """Readiness: database, migrations, cache, channel layer and storage (SPEC §8)."""
    checks: dict[str, str] = {}
    for name, check in READINESS_CHECKS.items():
        try:
            checks[name] = "ok" if check() else "failing"
        except Exception as exc:  # a probe reports failures, it does not raise them
            logger.warning("readiness check %s failed: %s", name, exc)
            checks[name] = "failing"
    failing = sorted(name for name, value in checks.items() if value != "ok")
    if failing:
        # Every error body is a problem (SPEC §0); `checks` rides along as an extension member.
        raise errors.ServiceUnavailableError(
            f"Not ready: {', '.join(failing)} failing.", headers={"Retry-After": "5"}, checks=checks
        )
    return Response({"status": "ok", "checks": checks})


def csrf_failure(request, reason: str = ""):
    """CSRF_FAILURE_VIEW: a 403 problem."""
    return problem_response(errors.PermissionDeniedError(f"CSRF verification failed: {reason}"), request)


def handler400(request, exception=None):
    return problem_response(problem_for_status(400, "The request could not be understood."), request)


def handler403(request, exception=None):
    return problem_response(errors.PermissionDeniedError(), request)


def handler404(request, exception=None):
    return problem_response(errors.NotFoundError(), request)


def handler500(request):
    return problem_response(errors.InternalError(), request)


@csrf_exempt  # an unknown path is a 404 for every method, never a CSRF 403 (clients retry 403s)
def not_found(request, *args, **kwargs):
    """Catch-all under /api/v1/ so unknown API paths answer 404 problems."""
    return problem_response(errors.NotFoundError(f"No endpoint at {request.path}."), request)

