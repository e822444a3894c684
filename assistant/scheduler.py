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
  for a reflection; an interrupted one runs again later (journal + cursor). A
  reflection that gives way to a reply (:class:`assistant.llm.gate.Preempted`)
  is scheduled again, not counted as a failure.
- **Consolidation.** A cron job (``consolidation_cron``, nightly by default)
  runs ``consolidate`` over the whole store; one missed while the app was
  closed runs at the next start.
- **Job log.** Every job writes one JSON line to ``job_log``: the job, the
  thread, status, seconds, changes, model calls and tokens, error.
- **One owner.** A file lock next to the job store makes the first process the
  owner; another process leaves scheduling to it (its messages are in the
  database, and the owner's reconcile finds them) and checks now and then
  whether it can take over.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.conversations import ConversationStore
from assistant.errors import AssistantError, StorageError
from assistant.executors import daemon_executor
from assistant.llm.gate import Preempted
from assistant.logs import job_logger, log_job

if TYPE_CHECKING:
    from assistant.memory.consolidation import ConsolidationReport
    from assistant.reflection.journal import ReflectionResult

log = logging.getLogger(__name__)

JOB_PREFIX = "reflect:"
CONSOLIDATION_JOB = "consolidate"
#: The job name of a reflection asked for by the user (reconcile leaves its time).
ASKED = " (asked)"
#: The scheduler whose jobs run in this process (the job store keeps a reference
#: to :func:`run_reflection_job`, a module function, not to an object).
_active: ReflectionScheduler | None = None


def run_reflection_job(thread_id: str) -> None:
    """The job APScheduler runs: reflect on ``thread_id`` with the active scheduler."""
    if _active is None:
        raise RuntimeError("no reflection scheduler is running in this process")
    _active.run(thread_id)


def run_consolidation_job() -> None:
    """The scheduled consolidation, run with the active scheduler."""
    if _active is None:
        raise RuntimeError("no reflection scheduler is running in this process")
    _active.run_consolidation()


def countdown(due: datetime, now: datetime | None = None) -> str | None:
    """How long until ``due``, as a clock: "9:41", "1:02:03"; ``None`` once due."""
    seconds = int((due - (now or datetime.now(UTC))).total_seconds())
    if seconds <= 0:
        return None
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


@dataclass(frozen=True, slots=True)
class PendingReflection:
    """A conversation waiting for reflection, and when it is due (UTC)."""

    thread_id: str
    due: datetime


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
            exception that ended a job (:class:`Preempted`: it runs again later).
        consolidate: the store-wide consolidation (``None``: no such job).
        consolidation_cron: when it runs (crontab, local time).
        job_log: where every job writes its line (``None``: nowhere).
    """

    def __init__(
        self,
        conversations: ConversationStore,
        reflect: Callable[[str], ReflectionResult],
        *,
        jobstore_url: str,
        lock_path: Path,
        delay_seconds: float = 600.0,
        max_wait_seconds: float = 7200.0,
        reconcile_seconds: float = 300.0,
        retry_seconds: float = 1800.0,
        on_result: Callable[[str, ReflectionResult | Exception], None] | None = None,
        consolidate: Callable[[], ConsolidationReport] | None = None,
        consolidation_cron: str = "0 3 * * *",
        job_log: Path | None = None,
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
        self.consolidate = consolidate
        self.consolidation_cron = consolidation_cron
        self._job_log = job_logger(job_log) if job_log is not None else None
        # Not thread-local: the TUI takes the lock in a worker thread and releases
        # it on the UI thread when it quits.
        self._lock = FileLock(lock_path, thread_local=False)
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
                executors={
                    "default": daemon_executor("reflection"),
                    "internal": daemon_executor("reconcile"),
                },
                job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
                timezone=UTC,
            )
            _active = self
            scheduler.start()
        except Exception as exc:  # SQLAlchemy's errors, a bad URL
            self._lock.release()
            raise self._store_error(exc) from exc
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
        if self.consolidate is not None:
            self._schedule_consolidation()
        return True

    def _store_error(self, exc: Exception) -> StorageError:
        """One line for a job store that cannot be opened: which file (or URL), the
        driver's own words (SQLAlchemy's first line, without its SQL), what to do."""
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        if self.jobstore_url.startswith("sqlite:///"):
            path = Path(self.jobstore_url.removeprefix("sqlite:///"))
            return StorageError(
                f"The reflection job store {path} cannot be opened ({reason}). Move it aside "
                f"(for example to {path.name}.broken) and start again: the pending "
                "reflections are rebuilt from the conversations."
            )
        return StorageError(
            f"The reflection job store {self.jobstore_url} cannot be opened ({reason}). "
            "Check jobstore_url in the config file and that its database server runs."
        )

    def _schedule_consolidation(self) -> None:
        """Add the cron job, or keep the stored one (its next run time, maybe one
        missed while closed) unless the schedule changed."""
        from apscheduler.triggers.cron import CronTrigger

        trigger = CronTrigger.from_crontab(self.consolidation_cron)
        job = self._scheduler.get_job(CONSOLIDATION_JOB)
        if job is not None and str(job.trigger) == str(trigger):
            return
        self._scheduler.add_job(
            run_consolidation_job,
            trigger,
            id=CONSOLIDATION_JOB,
            name="consolidate memories",
            replace_existing=True,
        )

    def _retry_later(self) -> None:
        if self._closed:
            return
        self._retry = threading.Timer(self.reconcile_seconds, self._try_again)
        self._retry.daemon = True
        self._retry.start()

    def _try_again(self) -> None:
        if not self._closed and not self.owner:
            try:
                if self.start():
                    log.info("took over the reflection jobs")
            except AssistantError as exc:
                log.warning("taking over reflection jobs failed: %s", exc)
                self._retry_later()

    def owned_elsewhere(self) -> bool:
        """Whether another process runs the jobs now (holds the lock)."""
        from filelock import Timeout

        if self.owner:
            return False
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            return True
        self._lock.release()
        return False

    def due_time(self, thread_id: str) -> datetime | None:
        """When ``thread_id`` should be reflected on, from its unreflected messages
        (``None``: it is up to date). After a failed reflection, not before
        ``retry_seconds`` have passed."""
        found = self.conversations.unreflected_threads(thread_id)
        return self._due(*found[0]) if found else None

    def _due(self, thread_id: str, first: datetime, last: datetime) -> datetime:
        """:meth:`due_time` from a row of ``unreflected_threads``."""
        due = min(last + self.delay, first + self.max_wait)
        newest = self.conversations.last_reflection(thread_id)  # not the whole journal
        if newest is not None and newest.status == "failed":
            due = max(due, newest.created_at + self.retry)
        return due

    def submit(
        self, thread_id: str, after_seconds: float | None = None, *, asked: bool | None = None
    ) -> datetime | None:
        """(Re)schedule the reflection of ``thread_id``: a new message pushes it back.

        Args:
            after_seconds: run this long from now instead (``0``: at once).
            asked: the user asked for it, so reconcile keeps its time (default:
                whether ``after_seconds`` was given).

        Returns:
            The due time, or ``None`` when there is nothing to reflect on. A process
            that is not the owner schedules nothing: the owner's reconcile will.
        """
        if after_seconds is not None:
            due: datetime | None = datetime.now(UTC) + timedelta(seconds=after_seconds)
        else:
            due = self.due_time(thread_id)
        if due is not None:
            self._put(thread_id, due, asked if asked is not None else after_seconds is not None)
        return due

    def _put(self, thread_id: str, due: datetime, asked: bool) -> None:
        if self._scheduler is not None:
            self._scheduler.add_job(
                run_reflection_job,
                "date",
                run_date=due,
                args=[thread_id],
                id=f"{JOB_PREFIX}{thread_id}",
                name=f"reflect on {thread_id}{ASKED if asked else ''}",
                replace_existing=True,
            )

    def reconcile(self) -> int:
        """Give every conversation with unreflected messages a job (the database is
        the truth; a job lost in a crash comes back), and push back a job that is
        due before its conversation's last message allows (messages sent from
        another process). Returns how many jobs were added or moved."""
        if self._scheduler is None:
            return 0
        changed = 0
        for thread_id, first, last in self.conversations.unreflected_threads():
            if thread_id == self.running:
                continue
            job = self._scheduler.get_job(f"{JOB_PREFIX}{thread_id}")
            if job is not None and job.name.endswith(ASKED):
                continue
            due = self._due(thread_id, first, last)
            if job is None or job.next_run_time < due - timedelta(seconds=1):
                self._put(thread_id, due, asked=False)
                changed += 1
        if changed:
            log.info("reconcile: scheduled %d reflections", changed)
        return changed

    def due(self, thread_id: str) -> datetime | None:
        """When ``thread_id``'s reflection is due (``None``: nothing pending). The
        owner reads its job; another process computes it from the database."""
        if self._scheduler is None:
            return self.due_time(thread_id)
        job = self._scheduler.get_job(f"{JOB_PREFIX}{thread_id}")
        return job.next_run_time if job is not None else None

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
                PendingReflection(row[0], self._due(*row))
                for row in self.conversations.unreflected_threads()
            ]
        return sorted(jobs, key=lambda p: p.due)

    def run(self, thread_id: str) -> ReflectionResult | None:
        """Reflect on ``thread_id`` now, in the calling thread (the worker's, for jobs).

        A reflection that gave way to a reply (:class:`Preempted`) is scheduled
        again and returns ``None``.

        Raises:
            Exception: whatever ``reflect`` raised (logged, and given to ``on_result``).
        """
        self.running = thread_id
        started = time.monotonic()
        try:
            result = self.reflect(thread_id)
        except Preempted as exc:
            self.running = None
            log.info("reflection of %s gave way (%s); it runs again later", thread_id, exc)
            self._log("reflect", started, thread=thread_id, status="preempted", error=str(exc))
            if not self._closed:
                self.submit(thread_id)
            if self.on_result is not None:
                self.on_result(thread_id, exc)
            return None
        except Exception as exc:
            self.running = None
            log.exception("reflection of %s failed", thread_id)
            self._log("reflect", started, thread=thread_id, status="error", error=repr(exc))
            if not self._closed:  # try again after the backoff, not at once
                self.submit(thread_id, self.retry.total_seconds(), asked=True)
            if self.on_result is not None:
                self.on_result(thread_id, exc)
            raise
        self.running = None
        if result.status == "failed" and not self._closed:
            self.submit(thread_id)  # the journal's failure sets the backoff
        self._log(
            "reflect",
            started,
            thread=thread_id,
            status=result.status,
            changes=dict(Counter(c.op for c in result.changes)),
            model_calls=result.model_calls,
            tokens=result.tokens,
            error=result.error,
        )
        if self.on_result is not None:
            self.on_result(thread_id, result)
        return result

    def run_consolidation(self) -> ConsolidationReport | None:
        """Run the store-wide consolidation now (the cron job calls this).

        Raises:
            Exception: whatever ``consolidate`` raised (logged).
        """
        if self.consolidate is None:
            return None
        started = time.monotonic()
        try:
            report = self.consolidate()
        except Exception as exc:
            log.exception("consolidation failed")
            self._log(CONSOLIDATION_JOB, started, status="error", error=repr(exc))
            raise
        summary = report.summary
        log.info("consolidation: %s", summary)
        self._log(CONSOLIDATION_JOB, started, status="done", summary=summary)
        return report

    def next_consolidation(self) -> datetime | None:
        """When the consolidation runs next (the owner only)."""
        if self._scheduler is None or (job := self._scheduler.get_job(CONSOLIDATION_JOB)) is None:
            return None
        return job.next_run_time

    def _log(self, job: str, started: float, **fields: object) -> None:
        if self._job_log is not None:
            seconds = round(time.monotonic() - started, 3)
            when = datetime.now(UTC).isoformat(timespec="seconds")
            log_job(self._job_log, time=when, job=job, seconds=seconds, **fields)

    def shutdown(self) -> bool:
        """Stop at once: pending jobs stay in the store, a running reflection is left
        to die with the process (it runs again later). Never waits.

        Returns:
            Whether a reflection was still running (the caller may end the process
            without waiting for it: see ``assistant.cli``).
        """
        global _active
        running = self.running is not None
        self._closed = True
        if self._retry is not None:
            self._retry.cancel()
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
            if _active is self:
                _active = None
            self._lock.release()
        return running
