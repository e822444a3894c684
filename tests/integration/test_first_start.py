"""Issue 18, item 8: processes starting together on a new data dir all work, and
every message is saved once (the schema is made once, under an exclusive lock)."""

import multiprocessing
import os
import sqlite3
import subprocess
from pathlib import Path

from assistant.conversations import MIGRATIONS, ConversationStore
from tests.integration.conftest import ASSISTANT

PROCESSES = 20


def _open_and_write(path: str, barrier, index: int, errors) -> None:
    barrier.wait()  # every process opens the new file at the same moment
    try:
        store = ConversationStore(Path(path))
        thread = store.create_thread()
        store.add_message(thread.id, "user", f"message {index}")
        store.close()
    except Exception as exc:  # reported to the parent, which fails the test
        errors.put(f"{index}: {exc}")


def test_stores_opened_at_once_on_a_new_file_migrate_once(tmp_path) -> None:
    path = tmp_path / "data" / "conversations.sqlite3"
    context = multiprocessing.get_context("spawn")
    barrier, errors = context.Barrier(PROCESSES), context.Queue()
    workers = [
        context.Process(target=_open_and_write, args=(str(path), barrier, i, errors))
        for i in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    failures = [errors.get() for _ in range(errors.qsize())] if not errors.empty() else []
    assert failures == []
    assert [worker.exitcode for worker in workers] == [0] * PROCESSES
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone() == (len(MIGRATIONS),)
    saved = sorted(row[0] for row in db.execute("SELECT content FROM messages"))
    assert saved == sorted(f"message {i}" for i in range(PROCESSES))


def chat_args(index: int) -> list[str]:
    return ["chat", "--new", f"m{index}"]


def test_parallel_chats_on_a_new_data_dir_save_every_message(fake_ollama, tmp_path) -> None:
    data_dir = tmp_path / "data"
    chats = [
        subprocess.Popen(
            [ASSISTANT, "--data-dir", str(data_dir), "--backend", "ollama", *chat_args(i)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=os.environ | {"OLLAMA_HOST": fake_ollama},
        )
        for i in range(PROCESSES)
    ]
    results = [(chat.wait(timeout=300), *chat.communicate()) for chat in chats]
    assert [(code, err) for code, _, err in results if code != 0] == []
    store = ConversationStore(data_dir / "conversations.sqlite3")
    said = [m.content for t in store.list_threads() for m in store.messages(t.id)]
    store.close()
    assert sorted(m for m in said if m.startswith("m")) == sorted(f"m{i}" for i in range(PROCESSES))
    assert said.count("Hello from Ollama.") == PROCESSES
