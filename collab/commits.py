"""Group commit of live edits: one transaction for every room of the process that has updates waiting.

Each room already batches the updates that arrive while its previous write is in flight. With a hundred
busy documents that still meant a commit, a WAL flush and a trip through a database thread per document
and batch. Here the rooms hand their batches to one committer per event loop; whatever is waiting when
the previous group's commit returns is committed together (`store.append_updates_many`), so the number of
commits follows the database's speed instead of the number of rooms. No batch waits for a timer, and each
room still applies and relays its updates only after they are committed (SPEC §5.4).
"""

from __future__ import annotations

import asyncio
import weakref

from collab import store

_committers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class GroupCommitter:
    def __init__(self, run_db) -> None:
        self._run_db = run_db
        self._waiting: list[tuple[object, list, asyncio.Future]] = []
        self._task: asyncio.Task | None = None

    def append(self, document_id, items: list[tuple[bytes, object]]) -> asyncio.Future:
        """The future of the batch's seqs, set once its group is committed (or its error)."""
        future = asyncio.get_running_loop().create_future()
        self._waiting.append((document_id, items, future))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._commit_groups())
        return future

    async def _commit_groups(self) -> None:
        while self._waiting:
            group, self._waiting = self._waiting, []
            try:
                results = await self._run_db(store.append_updates_many, [(doc, items) for doc, items, _ in group])
            except Exception as error:  # the database failed: every batch of the group is refused
                results = [error] * len(group)
            for (_, _, future), result in zip(group, results, strict=True):
                if future.done():
                    continue
                if isinstance(result, Exception):
                    future.set_exception(result)
                else:
                    future.set_result(result)


def committer(run_db) -> GroupCommitter:
    """The committer of the running event loop."""
    loop = asyncio.get_running_loop()
    found = _committers.get(loop)
    if found is None:
        found = _committers[loop] = GroupCommitter(run_db)
    return found
