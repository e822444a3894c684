"""Executors for APScheduler whose worker threads never hold the process up.

APScheduler's ``ThreadPoolExecutor`` runs jobs in ``concurrent.futures`` threads,
which the interpreter joins at exit: a reflection in a model call would keep a
quitting app alive for as long as the call takes. These run each job in one
daemon thread instead (APScheduler 3's ``BasePoolExecutor`` over any pool with
``submit`` and ``shutdown``).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any


class _DaemonWorker:
    """A one-thread executor pool whose thread is a daemon: the process can end
    while a job runs (``concurrent.futures`` threads are joined at exit)."""

    def __init__(self, name: str) -> None:
        self._jobs: queue.SimpleQueue[tuple[Future[Any], Callable[..., Any], tuple] | None]
        self._jobs = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)
        self._thread.start()

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        future: Future[Any] = Future()
        self._jobs.put((future, fn, args))
        return future

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            future, fn, args = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(*args))
            except BaseException as exc:
                future.set_exception(exc)

    def shutdown(self, wait: bool = True) -> None:
        self._jobs.put(None)
        if wait:
            self._thread.join()


def daemon_executor(name: str) -> Any:
    """An APScheduler executor whose one worker thread is a daemon (``name``: the
    thread's name), so that quitting never waits for a job in progress."""
    from apscheduler.executors.pool import BasePoolExecutor

    class DaemonExecutor(BasePoolExecutor):
        def __init__(self) -> None:
            super().__init__(_DaemonWorker(name))

    return DaemonExecutor()
