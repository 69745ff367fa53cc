"""Sync endpoints (SPEC §3.7): parse, call the pull, serialize."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from mdcreator.timestamps import utc_timestamp
from mdcreator.validation import uuid_or_404, validated
from sync import serializers as s
from sync.pull import sync_pull
from sync.push import push_one, pusher_for
from sync.services import ClientInfo


class SinceView(APIView):
    """`sync/workspaces/{wid}/since`: the workspace's changes after a cursor, for members."""

    permission_classes = [IsAuthenticated]

    @extend_schema(tags=["sync"], parameters=[s.SinceQuerySerializer], responses=s.SincePageSerializer)
    def get(self, request, wid):
        query = validated(s.SinceQuerySerializer, request.query_params)
        page = sync_pull(
            user=request.user, workspace_id=uuid_or_404(wid), cursor=query["cursor"], limit=query["limit"],
            include_content=query["include_content"],
        )
        return Response({**page.groups, "cursor": page.cursor, "has_more": page.has_more, "timestamp": utc_timestamp()})



class PushView(APIView):
    """`sync/workspaces/{wid}/push`: a device's changes, applied one by one; results in request order."""

    permission_classes = [IsAuthenticated]

    @extend_schema(tags=["sync"], request=s.PushSerializer, responses=s.PushResponseSerializer)
    def post(self, request, wid):
        pusher = pusher_for(request.user, uuid_or_404(wid))
        workspace = pusher.member.workspace
        envelope = validated(s.PushSerializer, request.data)
        client = {"device_id": envelope["device_id"], "client_version": envelope["client_version"]}
        results = [
            push_one(pusher=pusher, workspace=workspace, change=change,
                     client=ClientInfo(**client, client_change_id=change["change_id"]))
            for change in envelope["changes"]
        ]
        return Response({"results": results})
