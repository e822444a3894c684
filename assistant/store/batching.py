"""Concurrent ``abatch`` calls merged into one ``batch`` in a worker thread.

``ChromaStore.batch`` blocks (Chroma, the embedder) and runs one batch at a time
(a lock, and a file lock across processes), so ``abatch`` as ``to_thread(batch)``
made 1,000 concurrent calls wait in line for 1,000 thread hops and lock turns.
As LangGraph's SQL stores do (``AsyncBatchedBaseStore`` in
``langgraph.store.base.batch``), calls made while a batch runs are queued and
then run together as the next batch: one thread hop, one lock turn, one embedder
call for all their texts. Each caller gets the results of its own operations.

Semantics are those of one ``batch`` (reads see the state before its writes, the
last put of a key wins) over the calls in the order they were made; a caller
that awaits its write before reading sees it. When a merged batch fails, each of
its calls is run again on its own, so one caller's bad value (``TypeError``) or
namespace never fails the others; a failed batch writes nothing, so running its
calls again is safe.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field

from langgraph.store.base import Op, Result, validate_op_namespace

Batch = Callable[[list[Op]], list[Result]]


@dataclass
class _Queue:
    calls: list[tuple[list[Op], asyncio.Future[list[Result]]]] = field(default_factory=list)
    running: asyncio.Task[None] | None = None


class Batcher:
    """Merges the ``abatch`` calls of each event loop (see the module).

    Args:
        batch: the blocking ``batch`` (run in a worker thread).
    """

    def __init__(self, batch: Batch) -> None:
        self._batch = batch
        self._queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Queue] = (
            weakref.WeakKeyDictionary()
        )

    async def run(self, ops: list[Op]) -> list[Result]:
        """The results of ``ops``, run with the other calls waiting now.

        Raises:
            InvalidNamespaceError: a bad namespace (only this call fails).
            Whatever ``batch`` raises for these ops.
        """
        for op in ops:
            validate_op_namespace(op)
        if not ops:
            return []
        loop = asyncio.get_running_loop()
        queue = self._queues.setdefault(loop, _Queue())
        future: asyncio.Future[list[Result]] = loop.create_future()
        queue.calls.append((ops, future))
        if queue.running is None or queue.running.done():
            queue.running = loop.create_task(self._drain(queue))
        return await future

    async def _drain(self, queue: _Queue) -> None:
        """Run the queued calls, all waiting ones as one batch, until none is left."""
        while queue.calls:
            calls, queue.calls = queue.calls, []
            calls = [(ops, f) for ops, f in calls if not f.done()]  # cancelled callers
            if not calls:
                continue
            merged = [op for ops, _ in calls for op in ops]
            try:
                results = await asyncio.to_thread(self._batch, merged)
            except Exception as exc:
                if len(calls) == 1:
                    _settle(calls[0][1], error=exc)
                    continue
                for ops, future in calls:  # on their own: only the faulty ones fail
                    try:
                        _settle(future, await asyncio.to_thread(self._batch, ops))
                    except Exception as alone:
                        _settle(future, error=alone)
                continue
            start = 0
            for ops, future in calls:
                _settle(future, results[start : start + len(ops)])
                start += len(ops)


def _settle(
    future: asyncio.Future[list[Result]],
    results: list[Result] | None = None,
    *,
    error: BaseException | None = None,
) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(results or [])
