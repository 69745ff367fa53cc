"""The URL map of the bare views `bench/bare_asgi.py` serves: plain Django function views.

No DRF, no middleware, no database: the view returns a small JSON body, so a request to it costs what
Django and daphne cost for any request and nothing else (bench/README.md, "REST overhead benchmark").
"""

from django.http import JsonResponse
from django.urls import path


def bare(request):
    """`{"ok": true}`."""
    return JsonResponse({"ok": True})


urlpatterns = [path("bench/bare", bare, name="bench-bare"), path("bench/bare-onehop", bare, name="bench-bare-onehop")]
