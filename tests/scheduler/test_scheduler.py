"""ReflectionScheduler with the real APScheduler, the real SQLite job store and
short delays; reflection itself is a stand-in that advances the cursor (it is
tested on its own in tests/memory)."""

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from assistant.conversations import ConversationStore
from assistant.memory.consolidation import ConsolidationReport
from assistant.reflection.journal import ReflectionResult
from assistant.scheduler import ReflectionScheduler


class Reflector:
    """Records each reflection and moves the thread's cursor, as MemoryManager does."""

    def __init__(self, conversations: ConversationStore, seconds: float = 0.0) -> None:
        self.conversations = conversations
        self.seconds = seconds
        self.calls: list[tuple[str, float]] = []
        self.done = threading.Event()
        self.release = threading.Event()  # ends a long reflection early

    def __call__(self, thread_id: str) -> ReflectionResult:
        self.calls.append((thread_id, time.monotonic()))
        self.release.wait(self.seconds)
        messages = self.conversations.unreflected(thread_id)
        if messages:
            record = self.conversations.record_reflection(
                thread_id, messages[-1].id, operations="{}"
            )
            assert record is not None
            self.conversations.finish_reflection(record.id)
        self.done.set()
        return ReflectionResult(thread_id, "applied" if messages else "nothing")


@pytest.fixture
def conversations(tmp_path: Path) -> Iterator[ConversationStore]:
    store = ConversationStore(tmp_path / "conversations.sqlite3")
    yield store
    store.close()


def scheduler_for(
    tmp_path: Path, conversations: ConversationStore, reflect, **options
) -> ReflectionScheduler:
    options = {"delay_seconds": 0.5, "max_wait_seconds": 60.0, "reconcile_seconds": 60.0} | options
    return ReflectionScheduler(
        conversations,
        reflect,
        jobstore_url=f"sqlite:///{tmp_path / 'jobs.sqlite3'}",
        lock_path=tmp_path / "scheduler.lock",
        **options,
    )


def say(conversations: ConversationStore, thread_id: str, text: str) -> None:
    conversations.add_message(thread_id, "user", text)


def wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.02)


def test_five_quick_messages_give_one_reflection_after_the_last(tmp_path, conversations) -> None:
    reflector = Reflector(conversations)
    scheduler = scheduler_for(tmp_path, conversations, reflector)
    assert scheduler.start()
    thread = conversations.create_thread()
    try:
        for n in range(5):
            say(conversations, thread.id, f"message {n}")
            scheduler.submit(thread.id)
            last = time.monotonic()
            time.sleep(0.1)
        assert [p.thread_id for p in scheduler.pending()] == [thread.id]
        wait_for(lambda: reflector.calls)
        time.sleep(0.8)  # a second reflection would have come by now
        assert len(reflector.calls) == 1
        assert reflector.calls[0][1] - last >= 0.45
        assert conversations.unreflected(thread.id) == []
        assert scheduler.pending() == []
    finally:
        scheduler.shutdown()


def test_max_wait_fires_while_messages_keep_coming(tmp_path, conversations) -> None:
    reflector = Reflector(conversations)
    scheduler = scheduler_for(
        tmp_path, conversations, reflector, delay_seconds=0.6, max_wait_seconds=1.0
    )
    scheduler.start()
    thread = conversations.create_thread()
    started = time.monotonic()
    try:
        while not reflector.calls and time.monotonic() - started < 3:
            say(conversations, thread.id, "still talking")
            scheduler.submit(thread.id)
            time.sleep(0.2)
        assert reflector.calls, "max wait should have fired"
        assert reflector.calls[0][1] - started < 1.6
    finally:
        scheduler.shutdown()


def test_a_job_due_while_closed_runs_once_after_a_restart(tmp_path, conversations) -> None:
    first = scheduler_for(tmp_path, conversations, Reflector(conversations))
    first.start()
    thread = conversations.create_thread()
    say(conversations, thread.id, "remember this")
    first.submit(thread.id)
    first.shutdown()  # quit with the job pending
    time.sleep(0.8)  # its due time passes while closed

    reflector = Reflector(conversations)
    second = scheduler_for(tmp_path, conversations, reflector)
    second.start()
    try:
        wait_for(lambda: reflector.calls)
        time.sleep(0.5)
        assert [call[0] for call in reflector.calls] == [thread.id]
    finally:
        second.shutdown()


def test_reconcile_brings_back_a_lost_job(tmp_path, conversations) -> None:
    """A crash after APScheduler removed the job: the database still says it is due."""
    thread = conversations.create_thread()
    say(conversations, thread.id, "said before a crash")  # no job was ever submitted
    reflector = Reflector(conversations)
    scheduler = scheduler_for(tmp_path, conversations, reflector, delay_seconds=0.2)
    scheduler.start()  # reconciles at start
    try:
        wait_for(lambda: reflector.calls)
        assert reflector.calls[0][0] == thread.id
    finally:
        scheduler.shutdown()


def test_quitting_with_a_reflection_running_returns_at_once(tmp_path, conversations) -> None:
    reflector = Reflector(conversations, seconds=5.0)
    scheduler = scheduler_for(tmp_path, conversations, reflector)
    scheduler.start()
    thread = conversations.create_thread()
    say(conversations, thread.id, "a long reflection")
    scheduler.submit(thread.id, after_seconds=0)
    wait_for(lambda: scheduler.running == thread.id)
    started = time.monotonic()
    scheduler.shutdown()
    assert time.monotonic() - started < 1.0
    assert conversations.unreflected(thread.id)  # interrupted: it runs again later
    # In a real quit the process ends here; let the stand-in finish before the
    # database closes, so its thread does not outlive the test.
    reflector.release.set()
    assert reflector.done.wait(5)


def test_one_owner_and_the_other_process_work_is_picked_up(tmp_path, conversations) -> None:
    reflector = Reflector(conversations)
    owner = scheduler_for(tmp_path, conversations, reflector, reconcile_seconds=0.3)
    other = scheduler_for(tmp_path, conversations, Reflector(conversations))
    assert owner.start()
    assert not other.start()
    try:
        thread = conversations.create_thread()
        say(conversations, thread.id, "from the second process")
        due = other.submit(thread.id)  # schedules nothing itself
        assert due is not None and other.pending()[0].thread_id == thread.id
        wait_for(lambda: reflector.calls)
        assert reflector.calls[0][0] == thread.id
    finally:
        other.shutdown()
        owner.shutdown()


def test_a_failed_reflection_waits_before_it_is_tried_again(tmp_path, conversations) -> None:
    thread = conversations.create_thread()
    say(conversations, thread.id, "the model was down")
    message = conversations.messages(thread.id)[-1]
    conversations.record_reflection(thread.id, message.id, operations=None, error="down")
    scheduler = scheduler_for(tmp_path, conversations, Reflector(conversations))
    due = scheduler.due_time(thread.id)
    assert due is not None
    assert (due - message.created_at).total_seconds() >= 1800


def test_a_reflection_that_raised_is_tried_again_after_the_backoff(tmp_path, conversations) -> None:
    from assistant.errors import StorageError

    def broken(thread_id: str) -> None:
        raise StorageError("the disk is full")

    scheduler = scheduler_for(tmp_path, conversations, broken, retry_seconds=120)
    scheduler.start()
    thread = conversations.create_thread()
    say(conversations, thread.id, "hello")
    try:
        with pytest.raises(StorageError):
            scheduler.run(thread.id)
        due = scheduler.due(thread.id)
        assert due is not None
        assert 100 < (due - datetime.now(UTC)).total_seconds() <= 120
        assert scheduler.reconcile() == 0  # reconcile keeps the backoff
    finally:
        scheduler.shutdown()


def test_a_reflection_that_gives_way_to_a_reply_is_scheduled_again(tmp_path, conversations) -> None:
    from assistant.llm.gate import Preempted

    results: list[object] = []
    reflector = Reflector(conversations)
    calls = 0

    def reflect(thread_id: str) -> ReflectionResult:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise Preempted("a reply started")
        return reflector(thread_id)

    scheduler = scheduler_for(
        tmp_path,
        conversations,
        reflect,
        on_result=lambda thread_id, result: results.append(result),
        job_log=tmp_path / "logs" / "jobs.log",
    )
    scheduler.start()
    thread = conversations.create_thread()
    say(conversations, thread.id, "my dog is Fido")
    try:
        scheduler.submit(thread.id, after_seconds=0)
        wait_for(lambda: reflector.done.is_set())
        assert isinstance(results[0], Preempted)
        assert isinstance(results[1], ReflectionResult) and results[1].status == "applied"
        wait_for(lambda: len(read_job_log(tmp_path)) == 2)
        preempted, applied = read_job_log(tmp_path)
        assert (preempted["status"], preempted["thread"]) == ("preempted", thread.id)
        assert applied["status"] == "applied" and applied["seconds"] >= 0
        assert (tmp_path / "logs" / "jobs.log").stat().st_mode & 0o077 == 0
    finally:
        scheduler.shutdown()


def read_job_log(tmp_path: Path) -> list[dict]:
    import json

    path = tmp_path / "logs" / "jobs.log"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_reconcile_pushes_back_a_job_for_messages_from_another_process(
    tmp_path, conversations
) -> None:
    scheduler = scheduler_for(tmp_path, conversations, Reflector(conversations), delay_seconds=30)
    scheduler.start()
    thread = conversations.create_thread()
    say(conversations, thread.id, "first")
    try:
        first_due = scheduler.submit(thread.id)
        time.sleep(1.2)  # moves of less than a second are left alone
        say(conversations, thread.id, "second, sent by `assistant chat`")  # no submit here
        assert scheduler.reconcile() == 1
        later = scheduler.due(thread.id)
        assert later is not None and first_due is not None and later > first_due
        assert scheduler.reconcile() == 0  # stable
        scheduler.submit(thread.id, after_seconds=20)  # asked for: reconcile leaves it
        asked = scheduler.due(thread.id)
        say(conversations, thread.id, "third")
        scheduler.reconcile()
        assert scheduler.due(thread.id) == asked
    finally:
        scheduler.shutdown()


def test_a_consolidation_missed_while_closed_runs_at_the_next_start(
    tmp_path, conversations
) -> None:
    from datetime import UTC, datetime, timedelta

    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

    runs: list[float] = []

    def consolidate() -> ConsolidationReport:
        runs.append(time.monotonic())
        return ConsolidationReport(merged=1)

    options = {"consolidate": consolidate, "job_log": tmp_path / "logs" / "jobs.log"}
    first = scheduler_for(tmp_path, conversations, Reflector(conversations), **options)
    first.start()
    nightly = first.next_consolidation()
    assert nightly is not None and nightly > datetime.now(UTC)
    first.shutdown()
    # The app was closed over the night: the stored run time is now in the past.
    jobs = SQLAlchemyJobStore(
        url=f"sqlite:///{tmp_path / 'jobs.sqlite3'}", tablename="reflection_jobs"
    )
    jobs.start(None, "default")  # type: ignore[arg-type]
    job = jobs.lookup_job("consolidate")
    job.next_run_time = datetime.now(UTC) - timedelta(hours=5)
    jobs.update_job(job)
    jobs.shutdown()
    second = scheduler_for(tmp_path, conversations, Reflector(conversations), **options)
    second.start()
    try:
        wait_for(lambda: runs)
        time.sleep(0.3)
        assert len(runs) == 1  # coalesced: one run, not one per missed night
        assert second.next_consolidation() > datetime.now(UTC)
        wait_for(lambda: read_job_log(tmp_path))
        assert read_job_log(tmp_path)[-1]["job"] == "consolidate"
    finally:
        second.shutdown()
