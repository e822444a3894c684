"""`assistant daemon`, `jobs` and `reflect --due` as real processes with the embedded
model: a reflection killed with SIGKILL completes once after a restart, and of two
processes on one data dir exactly one runs the jobs, the other takes over when it
ends, and work from a third (`assistant chat`) is reflected."""

import json
import os
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.conversations import ConversationStore
from assistant.memory.factory import open_memories
from tests.integration.conftest import ASSISTANT, local_settings, run_cli

pytestmark = pytest.mark.model

QUICK = {
    "ASSISTANT_BACKEND": "local",
    "ASSISTANT_TEMPERATURE": "0",
    "ASSISTANT_MAX_REPLY_TOKENS": "24",
    "ASSISTANT_REFLECTION_DELAY_SECONDS": "0.5",
    "ASSISTANT_RECONCILE_INTERVAL_SECONDS": "1",
}


class Daemon:
    """`assistant daemon` in a subprocess, its output lines read as they come."""

    def __init__(self, data_dir: Path) -> None:
        self.process = subprocess.Popen(
            [ASSISTANT, "--data-dir", str(data_dir), "daemon"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=os.environ | QUICK,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, text: str, timeout: float = 90.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                continue
            self.seen.append(line)
            if text in line:
                return line
        raise AssertionError(f"no line with {text!r} in {timeout} s; output: {self.seen}")

    def drain(self) -> list[str]:
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return self.seen

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        code = self.process.wait(timeout=30)
        time.sleep(0.3)  # let the reader take the last lines
        self.drain()
        return code


@pytest.fixture
def daemons() -> Iterator[list[Daemon]]:
    started: list[Daemon] = []
    yield started
    for daemon in started:
        if daemon.process.poll() is None:
            daemon.process.kill()
            daemon.process.wait()


def talk(data_dir: Path, *user_texts: str) -> str:
    """A saved conversation, as if the user had chatted and quit (no model call)."""
    store = ConversationStore(data_dir / "conversations.sqlite3")
    thread = store.create_thread("About me")
    for text in user_texts:
        store.add_message(thread.id, "user", text)
        store.add_message(thread.id, "assistant", "I see.")
    store.close()
    return thread.id


def memory_texts(data_dir: Path) -> list[str]:
    memories = open_memories(local_settings(data_dir))
    try:
        return [
            m.text for kind in ("semantic", "episodic", "procedural") for m in memories.every(kind)
        ]
    finally:
        memories.close()


def test_a_reflection_killed_mid_way_completes_once_after_a_restart(data_dir, daemons) -> None:
    facts = [
        "My dog's name is Fido.",
        "I live in Lyon.",
        "I work as a nurse.",
        "My sister is called Ana.",
        "I play the cello.",
        "I was born in Porto.",
        "My favourite tea is jasmine.",
        "I drive a blue van.",
    ]
    # 16 sentences make two model calls (12 per call): the kill lands inside.
    thread_id = talk(data_dir, *(f"{fact} {fact}" for fact in facts))
    first = Daemon(data_dir)
    daemons.append(first)
    first.wait_for("reflecting on")
    first.wait_for("model:")
    time.sleep(1.5)
    assert first.stop(signal.SIGKILL) == -signal.SIGKILL
    store = ConversationStore(data_dir / "conversations.sqlite3")
    before = store.get_thread(thread_id)
    assert before.reflected_through == 0, "the kill came after the reflection ended"
    messages = [(m.role, m.content) for m in store.messages(thread_id)]

    second = Daemon(data_dir)
    daemons.append(second)
    done = second.wait_for("reflected on")
    assert "learned" in done, second.seen
    assert second.stop() == 0
    assert not any("Traceback" in line for line in first.seen + second.seen)

    # The conversation is whole, reflected once, and nothing is remembered twice.
    assert [(m.role, m.content) for m in store.messages(thread_id)] == messages
    assert store.get_thread(thread_id).reflected_through == store.messages(thread_id)[-1].id
    assert [r.status for r in store.reflections(thread_id)] == ["applied"]
    texts = memory_texts(data_dir)
    assert texts and len(texts) == len(set(texts)), texts
    store.close()
    log = [json.loads(line) for line in (data_dir / "logs" / "jobs.log").read_text().splitlines()]
    assert [entry["status"] for entry in log] == ["applied"]  # the killed run wrote no line


def test_one_of_two_daemons_runs_the_jobs_and_the_other_takes_over(data_dir, daemons) -> None:
    owner = Daemon(data_dir)
    daemons.append(owner)
    owner.wait_for("running background reflection")
    other = Daemon(data_dir)
    daemons.append(other)
    other.wait_for("waiting to take over")
    jobs = run_cli("jobs", data_dir=data_dir, **QUICK)
    assert "runs in another assistant" in jobs.stdout

    # Work from a third process: the owner's reconcile finds it and reflects.
    told = run_cli("chat", "--new", "My cat is called Momo.", data_dir=data_dir, **QUICK)
    assert told.returncode == 0, told.stderr
    assert "learned" in owner.wait_for("reflected on")
    assert not any("reflect" in line and " on " in line for line in other.drain()), other.seen

    # The owner ends; the other takes over and reflects what comes next.
    assert owner.stop() == 0
    other.wait_for("running background reflection", timeout=30)
    told = run_cli("chat", "--new", "I live in Lyon.", data_dir=data_dir, **QUICK)
    assert told.returncode == 0, told.stderr
    assert "learned" in other.wait_for("reflected on")
    assert other.stop() == 0
    texts = memory_texts(data_dir)
    assert any("Momo" in t for t in texts) and any("Lyon" in t for t in texts), texts
    assert len(texts) == len(set(texts))


def test_jobs_and_reflect_due(data_dir) -> None:
    talk(data_dir, "My dog's name is Fido.")
    env = QUICK | {"ASSISTANT_REFLECTION_DELAY_SECONDS": "3600"}
    jobs = run_cli("jobs", "--json", data_dir=data_dir, **env)
    [row] = [json.loads(line) for line in jobs.stdout.splitlines()]
    assert row["title"] == "About me"
    assert "No assistant is running" in run_cli("jobs", data_dir=data_dir, **env).stdout
    early = run_cli("reflect", "--due", data_dir=data_dir, **env)
    assert "Nothing is due" in early.stdout
    due = run_cli("reflect", "--due", data_dir=data_dir, **QUICK)
    assert due.returncode == 0 and "learned" in due.stdout, due.stderr
    assert "No reflection pending" in run_cli("jobs", data_dir=data_dir, **QUICK).stdout
