"""A damaged store never reads as an empty one (issue 18, item 3): real Chroma
files truncated, removed, emptied or replaced on purpose are refused with what
happened and how to restore; an emptied store by the user's own deletes is not."""

import shutil
from pathlib import Path

import pytest

from assistant.store.chroma import ChromaStore
from assistant.store.sentinel import NAME, StoreLostError

NS = ("memories", "me", "semantic")


def made(path: Path, minilm) -> ChromaStore:
    index = {"dims": 384, "embed": minilm, "fields": ["text"]}
    return ChromaStore.persistent(path, index=index, embedder_name=minilm.name)


@pytest.fixture
def store_dir(tmp_path: Path, minilm) -> Path:
    store = made(tmp_path / "memory", minilm)
    store.put(NS, "k1", {"text": "The user's dog is called Fido."})
    store.close()
    return tmp_path / "memory"


def refused(path: Path, minilm) -> str:
    with pytest.raises(StoreLostError) as caught:
        made(path, minilm)
    message = str(caught.value)
    assert "assistant memories import" in message and "assistant memories export" in message
    assert "\n" not in message
    return message


def test_a_zero_byte_database_is_refused(store_dir: Path, minilm) -> None:
    (store_dir / "chroma.sqlite3").write_bytes(b"")
    assert "chroma.sqlite3 holds 0 bytes" in refused(store_dir, minilm)
    assert (store_dir / "chroma.sqlite3").stat().st_size == 0  # Chroma never touched it


def test_a_missing_database_is_refused(store_dir: Path, minilm) -> None:
    (store_dir / "chroma.sqlite3").unlink()
    assert "chroma.sqlite3 is missing" in refused(store_dir, minilm)


def test_a_replaced_or_emptied_store_is_refused(store_dir: Path, tmp_path: Path, minilm) -> None:
    other = made(tmp_path / "other", minilm)
    other.close()
    kept = (store_dir / "chroma.sqlite3").read_bytes()
    shutil.copy(tmp_path / "other" / "chroma.sqlite3", store_dir / "chroma.sqlite3")
    for leftover in store_dir.iterdir():
        if leftover.is_dir():
            shutil.rmtree(leftover)
    assert "replaced by another one" in refused(store_dir, minilm)

    (store_dir / "chroma.sqlite3").write_bytes(kept)
    import chromadb
    from chromadb.config import Settings

    client = chromadb.PersistentClient(
        path=str(store_dir), settings=Settings(anonymized_telemetry=False)
    )
    for collection in client.list_collections():
        if not collection.name.endswith("-manifest"):
            client.delete_collection(collection.name)
    client.close()
    assert "held memories and now holds none" in refused(store_dir, minilm)


def test_deleting_every_item_is_no_loss(store_dir: Path, minilm) -> None:
    store = made(store_dir, minilm)
    store.delete(NS, "k1")
    store.close()
    again = made(store_dir, minilm)  # opens: the user emptied it
    assert again.search(NS) == []
    again.put(NS, "k2", {"text": "The user lives in Lyon."})
    again.close()
    (store_dir / "chroma.sqlite3").write_bytes(b"")
    refused(store_dir, minilm)


def test_a_store_without_a_manifest_gets_one(store_dir: Path, minilm) -> None:
    (store_dir / NAME).unlink()  # as a store made before this file existed
    store = made(store_dir, minilm)
    assert store.get(NS, "k1") is not None
    store.close()
    assert (store_dir / NAME).is_file()
    (store_dir / "chroma.sqlite3").write_bytes(b"")
    refused(store_dir, minilm)
