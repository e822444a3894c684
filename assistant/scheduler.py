"""Background reflection: one debounced job per conversation, kept across restarts.

``ReflectionScheduler`` runs APScheduler 3's ``BackgroundScheduler`` (its own
thread, not an event loop: the same scheduler serves the TUI and the headless
``assistant daemon``, and reflection is blocking CPU work that must stay off
the UI loop anyway) with an SQLAlchemy job store (SQLite in the data dir, or
any URL such as PostgreSQL's).

- **Debounce.** ``submit(thread_id)`` puts one job per conversation
  (``reflect:<thread id>``), replacing the one before: it runs
  ``delay_seconds`` after the last message, but no later than
  ``max_wait_seconds`` after the first unreflected one.
- **Nothing lost.** Jobs due while the app was closed run after the next start
  (no misfire drop, ``misfire_grace_time=None``), one after another (a single
  worker). APScheduler removes a one-shot job when it hands it to the worker, so
  the conversation database is the truth: :meth:`ReflectionScheduler.reconcile`
  (at start and every ``reconcile_seconds``) gives every conversation
  with messages past its reflection cursor a job. At-least-once runs plus the
  idempotent cursor of ``MemoryManager.reflect``: nothing lost, nothing doubled.
- **Never in the way.** Jobs run in one daemon thread, so quitting never waits
  for a reflection; an interrupted one runs again later (journal + cursor).
- **One owner.** A file lock next to the job store makes the first process the
  owner; another process leaves scheduling to it (its messages are in the
  database, and the owner's reconcile finds them) and checks now and then
  whether it can take over.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from assistant.conversations import ConversationStore
from assistant.errors import AssistantError, StorageError

log = logging.getLogger(__name__)

JOB_PREFIX = "reflect:"
#: The scheduler whose jobs run in this process (the job store keeps a reference
#: to :func:`run_reflection_job`, a module function, not to an object).
_active: ReflectionScheduler | None = None


def run_reflection_job(thread_id: str) -> None:
    """The job APScheduler runs: reflect on ``thread_id`` with the active scheduler."""
    if _active is None:
        raise RuntimeError("no reflection scheduler is running in this process")
    _active.run(thread_id)


@dataclass(frozen=True, slots=True)
class PendingReflection:
    """A conversation waiting for reflection, and when it is due (UTC)."""

    thread_id: str
    due: datetime


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


def _executor(name: str) -> Any:
    from apscheduler.executors.pool import BasePoolExecutor

    class DaemonExecutor(BasePoolExecutor):
        def __init__(self) -> None:
            super().__init__(_DaemonWorker(name))

    return DaemonExecutor()


class ReflectionScheduler:
    """Schedules reflection of conversations in ``conversations``.

    Args:
        conversations: the conversation database (the truth about what is due).
        reflect: reflects on one conversation (``MemoryManager.reflect``); runs
            in the scheduler's worker thread, one at a time.
        jobstore_url: SQLAlchemy URL of the job store.
        lock_path: the file whose lock makes this process the owner.
        delay_seconds: quiet time after the last message.
        max_wait_seconds: the longest wait after the first unreflected message.
        reconcile_seconds: how often to compare jobs with the database.
        retry_seconds: how long after a failed reflection the next try waits.
        on_result: called (in the worker thread) with each result, or with the
            exception that ended a job.
    """

    def __init__(
        self,
        conversations: ConversationStore,
        reflect: Callable[[str], Any],
        *,
        jobstore_url: str,
        lock_path: Path,
        delay_seconds: float = 600.0,
        max_wait_seconds: float = 7200.0,
        reconcile_seconds: float = 300.0,
        retry_seconds: float = 1800.0,
        on_result: Callable[[str, Any], None] | None = None,
    ) -> None:
        from filelock import FileLock

        self.conversations = conversations
        self.reflect = reflect
        self.jobstore_url = jobstore_url
        self.delay = timedelta(seconds=delay_seconds)
        self.max_wait = timedelta(seconds=max_wait_seconds)
        self.reconcile_seconds = reconcile_seconds
        self.retry = timedelta(seconds=retry_seconds)
        self.on_result = on_result
        self._lock = FileLock(lock_path)
        self._scheduler: Any = None
        self._retry: threading.Timer | None = None
        self._closed = False
        self.running: str | None = None
        """The thread being reflected on now, if any."""

    @property
    def owner(self) -> bool:
        """Whether this process runs the jobs (holds the lock)."""
        return self._scheduler is not None

    def start(self) -> bool:
        """Become the owner if no other process is, start, and reconcile.

        Returns:
            Whether this process owns the jobs; if not, it tries again every
            ``reconcile_seconds``.

        Raises:
            StorageError: the job store cannot be opened.
        """
        from filelock import Timeout

        global _active
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            log.info("another process owns reflection jobs; this one leaves them to it")
            self._retry_later()
            return False
        from apscheduler.jobstores.memory import MemoryJobStore
        from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
        from apscheduler.schedulers.background import BackgroundScheduler

        try:
            jobstore = SQLAlchemyJobStore(url=self.jobstore_url, tablename="reflection_jobs")
            scheduler = BackgroundScheduler(
                jobstores={"default": jobstore, "internal": MemoryJobStore()},
                executors={"default": _executor("reflection"), "internal": _executor("reconcile")},
                job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
                timezone=UTC,
            )
            _active = self
            scheduler.start()
        except Exception as exc:  # SQLAlchemy's errors, a bad URL
            self._lock.release()
            raise StorageError(
                f"The reflection job store ({self.jobstore_url}) cannot be opened: {exc}"
            ) from exc
        self._scheduler = scheduler
        scheduler.add_job(
            self.reconcile,
            "interval",
            seconds=self.reconcile_seconds,
            id="reconcile",
            jobstore="internal",
            executor="internal",
            next_run_time=datetime.now(UTC),
        )
        return True

    def _retry_later(self) -> None:
        if self._closed:
            return
        self._retry = threading.Timer(self.reconcile_seconds, self._try_again)
        self._retry.daemon = True
        self._retry.start()

    def _try_again(self) -> None:
        if not self._closed and not self.owner:
            try:
                self.start()
            except AssistantError as exc:
                log.warning("taking over reflection jobs failed: %s", exc)
                self._retry_later()

    def due_time(self, thread_id: str) -> datetime | None:
        """When ``thread_id`` should be reflected on, from its unreflected messages
        (``None``: it is up to date). After a failed reflection, not before
        ``retry_seconds`` have passed."""
        found = self.conversations.unreflected_threads(thread_id)
        if not found:
            return None
        _, first, last = found[0]
        due = min(last + self.delay, first + self.max_wait)
        journal = self.conversations.reflections(thread_id)
        if journal and journal[-1].status == "failed":
            due = max(due, journal[-1].created_at + self.retry)
        return due

    def submit(self, thread_id: str, after_seconds: float | None = None) -> datetime | None:
        """(Re)schedule the reflection of ``thread_id``: a new message pushes it back.

        Args:
            after_seconds: run this long from now instead (``0``: at once).

        Returns:
            The due time, or ``None`` when there is nothing to reflect on. A process
            that is not the owner schedules nothing: the owner's reconcile will.
        """
        if after_seconds is not None:
            due: datetime | None = datetime.now(UTC) + timedelta(seconds=after_seconds)
        else:
            due = self.due_time(thread_id)
        if due is not None and self._scheduler is not None:
            self._scheduler.add_job(
                run_reflection_job,
                "date",
                run_date=due,
                args=[thread_id],
                id=f"{JOB_PREFIX}{thread_id}",
                name=f"reflect on {thread_id}",
                replace_existing=True,
            )
        return due

    def reconcile(self) -> int:
        """Give every conversation with unreflected messages a job (the database is
        the truth; a job lost in a crash comes back). Returns how many were added."""
        if self._scheduler is None:
            return 0
        added = 0
        for thread_id, _, _ in self.conversations.unreflected_threads():
            if thread_id == self.running:
                continue
            if self._scheduler.get_job(f"{JOB_PREFIX}{thread_id}") is None:
                self.submit(thread_id)
                added += 1
        if added:
            log.info("reconcile: scheduled %d reflections", added)
        return added

    def pending(self) -> list[PendingReflection]:
        """Conversations waiting for reflection with their due times, soonest first.

        The owner reads its job store; another process computes them from the
        database (the owner will schedule them so).
        """
        if self._scheduler is not None:
            jobs = [
                PendingReflection(job.args[0], job.next_run_time)
                for job in self._scheduler.get_jobs(jobstore="default")
                if job.id.startswith(JOB_PREFIX) and job.next_run_time is not None
            ]
        else:
            jobs = [
                PendingReflection(thread_id, due)
                for thread_id, _, _ in self.conversations.unreflected_threads()
                if (due := self.due_time(thread_id)) is not None
            ]
        return sorted(jobs, key=lambda p: p.due)

    def run(self, thread_id: str) -> Any:
        """Reflect on ``thread_id`` now, in the calling thread (the worker's, for jobs)."""
        self.running = thread_id
        try:
            result = self.reflect(thread_id)
        except Exception as exc:
            log.exception("reflection of %s failed", thread_id)
            if self.on_result is not None:
                self.on_result(thread_id, exc)
            raise
        finally:
            self.running = None
        if self.on_result is not None:
            self.on_result(thread_id, result)
        return result

    def shutdown(self) -> None:
        """Stop at once: pending jobs stay in the store, a running reflection is left
        to die with the process (it runs again later). Never waits."""
        global _active
        self._closed = True
        if self._retry is not None:
            self._retry.cancel()
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
            if _active is self:
                _active = None
            self._lock.release()
