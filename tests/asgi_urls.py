"""URLs of the ASGI handler tests: views that report the thread they ran in, and a streaming one."""

import threading

from django.http import JsonResponse, StreamingHttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

CLOSED: list[int] = []
PRODUCED: list[int] = []


class _Parts:
    """A streamed body that records the threads its chunks were made and its close ran in."""

    def __iter__(self):
        for part in (b"one,", b"two,", b"three"):
            PRODUCED.append(threading.get_ident())
            yield part

    def close(self):
        CLOSED.append(threading.get_ident())


@csrf_exempt
def where(request):
    return JsonResponse({"thread": threading.get_ident(), "body": request.body.decode(), "path": request.path})


def stream(request):
    return StreamingHttpResponse(_Parts(), content_type="text/plain")


urlpatterns = [path("where", where), path("stream", stream)]
