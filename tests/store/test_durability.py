"""Durability of the embedded ChromaStore: restarts, several processes, crashes,
damaged or foreign directories, and the embedder it was built with."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import chromadb
import pytest
from chromadb.config import Settings as ChromaSettings
from langchain_core.embeddings import DeterministicFakeEmbedding

from assistant.config import Settings
from assistant.errors import StorageError
from assistant.memory.factory import open_store
from assistant.store.chroma import ChromaStore
from assistant.store.opening import EmbedderMismatchError
from tests.integration.conftest import run_cli

NS = ("memories", "me")
FAKE = {"dims": 16, "embed": DeterministicFakeEmbedding(size=16), "fields": ["text"]}

# A child process that writes into a store; argv: directory, first key, count, pause (s).
WRITER = """
import sys, time
from langchain_core.embeddings import DeterministicFakeEmbedding
from assistant.store.chroma import ChromaStore
path, first, count, pause = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
index = {"dims": 16, "embed": DeterministicFakeEmbedding(size=16), "fields": ["text"]}
store = ChromaStore.persistent(__import__("pathlib").Path(path), index=index)
for i in range(first, first + count):
    store.put(("memories", "me"), f"k{i}", {"text": f"fact number {i}", "n": i})
    store.put(("memories", "me"), "shared", {"text": f"last writer {i}", "n": i})
    print(i, flush=True)
    time.sleep(pause)
store.close()
"""


def writer(path: Path, first: int, count: int, pause: float = 0.0) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), str(first), str(count), str(pause)],
        stdout=subprocess.PIPE,
        text=True,
    )


def test_memories_persist_across_processes(tmp_path: Path) -> None:
    path = tmp_path / "memory"
    assert writer(path, 0, 5).wait(timeout=120) == 0
    store = ChromaStore.persistent(path, index=FAKE)
    assert {i.key for i in store.search(NS, limit=100)} == {f"k{i}" for i in range(5)} | {"shared"}
    assert store.get(NS, "k3").value == {"text": "fact number 3", "n": 3}
    assert store.search(NS, query="fact number 2")[0].key == "k2"
    store.close()
    assert (path.stat().st_mode & 0o777) == 0o700


def test_two_processes_write_and_see_each_other(tmp_path: Path) -> None:
    path = tmp_path / "memory"
    store = ChromaStore.persistent(path, index=FAKE)
    store.put(NS, "mine", {"text": "written by the test process"})
    children = [writer(path, 0, 20, 0.01), writer(path, 100, 20, 0.01)]
    for i in range(20):  # the test process writes at the same time
        store.put(NS, f"t{i}", {"text": f"test fact {i}"})
    assert [c.wait(timeout=120) for c in children] == [0, 0]
    keys = {i.key for i in store.search(NS, limit=1000)}
    expected = {f"k{i}" for i in [*range(20), *range(100, 120)]} | {f"t{i}" for i in range(20)}
    assert expected | {"mine", "shared"} == keys
    # The index of this process sees what the others wrote.
    assert store.search(NS, query="fact number 107", limit=1)[0].key == "k107"
    store.close()


def test_threads_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    store = ChromaStore.persistent(tmp_path / "memory", index=FAKE)

    def write(worker: int) -> None:
        for i in range(25):
            store.put(NS, f"w{worker}-{i}", {"text": f"worker {worker} fact {i}"})

    threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(store.search(NS, limit=1000)) == 100
    store.close()


def test_a_store_killed_mid_write_opens_consistent(tmp_path: Path) -> None:
    path = tmp_path / "memory"
    child = writer(path, 0, 10_000)
    for _ in range(15):  # let it get going
        child.stdout.readline()
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    store = ChromaStore.persistent(path, index=FAKE)
    items = store.search(NS, limit=100_000)
    assert len(items) >= 15
    for item in items:
        assert store.get(NS, item.key).value == item.value
    numbers = sorted(i.value["n"] for i in items if i.key != "shared")
    assert numbers == list(range(len(numbers)))  # no gaps: every put whole or absent
    assert store.get(NS, "shared").value["n"] in (numbers[-1], numbers[-1] - 1)
    found = store.search(NS, query=items[3].value["text"], limit=1)
    assert found[0].key == items[3].key
    store.put(NS, "after", {"text": "written after the crash"})
    assert store.get(NS, "after") is not None
    store.close()


def test_a_damaged_database_is_an_error_not_an_empty_store(tmp_path: Path) -> None:
    path = tmp_path / "memory"
    store = ChromaStore.persistent(path, index=FAKE)
    store.put(NS, "k", {"text": "t"})
    store.close()
    (path / "chroma.sqlite3").write_bytes(b"this is not a database" * 100)
    with pytest.raises(StorageError, match=r"Cannot open the memory store .*move the directory"):
        ChromaStore.persistent(path, index=FAKE)


def test_a_directory_of_something_else_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "memory"
    path.mkdir()
    (path / "notes.txt").write_text("mine")
    with pytest.raises(StorageError, match="not a memory store"):
        ChromaStore.persistent(path, index=FAKE)
    assert (path / "notes.txt").read_text() == "mine"


def test_a_foreign_chroma_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "memory"
    client = chromadb.PersistentClient(str(path), ChromaSettings(anonymized_telemetry=False))
    client.create_collection("someone-elses")
    client.close()
    with pytest.raises(StorageError, match="did not create"):
        ChromaStore.persistent(path, index=FAKE)


def test_another_embedder_is_refused_until_reindexed(tmp_path: Path, minilm) -> None:
    path = tmp_path / "memory"
    store = ChromaStore.persistent(path, index=FAKE, embedder_name="fake-16")
    store.put(NS, "dog", {"text": "The user's dog is called Fido."})
    store.put(NS, "tea", {"text": "The user drinks green tea."})
    store.put(NS, "plain", {"other": "no text"})
    store.close()
    minilm_index = {"dims": 384, "embed": minilm, "fields": ["text"]}
    with pytest.raises(EmbedderMismatchError, match=r"fake-16 \(16 dims\).*memories reindex"):
        ChromaStore.persistent(path, index=minilm_index)

    store = ChromaStore.persistent(path, index=minilm_index, check_embedder=False)
    assert store.reindex(minilm_index) == 3
    store.close()
    store = ChromaStore.persistent(path, index=minilm_index)
    assert [i.key for i in store.search(NS)] == ["dog", "tea", "plain"]
    assert store.search(NS, query="What is my dog called?")[0].key == "dog"
    store.close()
    with pytest.raises(EmbedderMismatchError):
        ChromaStore.persistent(path, index=FAKE, embedder_name="fake-16")


def test_reindex_from_the_command_line(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    store = ChromaStore.persistent(data_dir / "memory", index=FAKE, embedder_name="fake-16")
    store.put(NS, "dog", {"text": "The user's dog is called Fido."})
    store.put(NS, "tea", {"text": "The user drinks green tea."})
    store.close()

    done = run_cli("memories", "reindex", data_dir=data_dir)
    assert done.returncode == 0, done.stderr
    assert "Re-embedded 2 memories with all-MiniLM-L6-v2-int8 (384 dims)" in done.stdout
    assert "fake-16 (16 dims)" in done.stdout
    assert "Re-embedding: 2 memories" in done.stderr  # progress, on stderr
    again = run_cli("memories", "reindex", data_dir=data_dir)
    assert "nothing to do" in again.stdout

    store = open_store(Settings.load(data_dir=data_dir))
    assert store.search(NS, query="my dog's name")[0].key == "dog"
    store.close()


def test_a_second_store_waits_for_the_lock(tmp_path: Path) -> None:
    """A batch holds the directory's file lock; another process waits, then proceeds."""
    path = tmp_path / "memory"
    ChromaStore.persistent(path, index=FAKE).close()
    from filelock import FileLock

    lock = FileLock(path / "assistant.lock")
    lock.acquire()
    child = writer(path, 0, 1)
    time.sleep(1.0)
    assert child.poll() is None  # blocked on the lock
    lock.release()
    assert child.wait(timeout=60) == 0
    store = ChromaStore.persistent(path, index=FAKE)
    assert json.dumps(store.get(NS, "k0").value) == json.dumps({"text": "fact number 0", "n": 0})
    store.close()


def test_a_chroma_server_that_goes_away_gives_a_clear_error(tmp_path: Path) -> None:
    from tests.store.conftest import start_chroma_server

    url, server = start_chroma_server(tmp_path / "server")
    store = ChromaStore.server(url, index=FAKE)
    store.put(NS, "k", {"text": "kept on the server"})
    server.terminate()
    server.wait(timeout=10)
    with pytest.raises(StorageError, match=f"memory store at {url} failed"):
        store.get(NS, "k")
    with pytest.raises(StorageError):
        store.put(NS, "k", {"text": "new"})
    with pytest.raises(StorageError, match=r"Is the Chroma server .* running there"):
        ChromaStore.server(url, index=FAKE)


def test_a_failed_reindex_leaves_the_store_as_it_was(tmp_path: Path) -> None:
    class Broken(DeterministicFakeEmbedding):
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            raise RuntimeError("embedder crashed")

    store = ChromaStore.persistent(tmp_path / "memory", index=FAKE, embedder_name="fake-16")
    store.put(NS, "dog", {"text": "The user's dog is called Fido."})
    broken = {"dims": 16, "embed": Broken(size=16), "fields": ["text"]}
    with pytest.raises(RuntimeError, match="embedder crashed"):
        store.reindex(broken, embedder_name="broken")
    assert store.embedder == ("fake-16", 16)
    store.put(NS, "tea", {"text": "The user drinks green tea."})
    assert store.search(NS, query="The user's dog is called Fido.")[0].key == "dog"
    store.close()
    reopened = ChromaStore.persistent(tmp_path / "memory", index=FAKE, embedder_name="fake-16")
    assert {i.key for i in reopened.search(NS)} == {"dog", "tea"}
    reopened.close()
