"""Presigns racing for the last bytes of a workspace's quota never overshoot it (SPEC §7, PostgreSQL)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from documents.models import Attachment
from documents.tests.attachments import presign
from workspaces.models import Workspace
from workspaces.tests.helpers import client_for

pytestmark = pytest.mark.django_db(transaction=True)

MiB = 1024 * 1024


def test_uploads_twenty_parallel_presigns_take_exactly_the_bytes_left(team):
    Workspace.objects.filter(pk=team.workspace.pk).update(storage_used_bytes=3 * MiB, storage_limit_bytes=10 * MiB)
    clients = [client_for(team.user("editor")) for _ in range(20)]
    start, statuses = threading.Barrier(20), []

    def one(client):
        try:
            start.wait(10)
            statuses.append(presign(client, team.workspace, data=MiB, content_type="application/pdf",
                                    file_name="race.pdf").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=one, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(statuses) == [200] * 7 + [413] * 13  # 7 MiB were left: seven reservations, no more
    pending = Attachment.objects.filter(workspace=team.workspace, processing_status="pending")
    assert pending.count() == 7
    workspace = Workspace.objects.get(pk=team.workspace.pk)
    assert workspace.storage_used_bytes + sum(pending.values_list("size_bytes", flat=True)) == workspace.storage_limit_bytes
