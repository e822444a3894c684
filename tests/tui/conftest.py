"""Fixtures of the TUI tests."""

from collections.abc import Iterator

import pytest

from assistant.config import Settings
from assistant.memory.repository import Memories
from assistant.store.chroma import ChromaStore
from tests.memory.conftest import NAMESPACE


@pytest.fixture
def memory_loader(tmp_path, minilm) -> Iterator:
    """Opens one real Chroma store (MiniLM) for the app; yields the loader."""
    index = {"dims": 384, "embed": minilm, "fields": ["text"]}
    opened: list[Memories] = []

    def load(settings: Settings) -> Memories:
        chroma = ChromaStore.persistent(tmp_path / "memory", index=index, embedder_name=minilm.name)
        opened.append(Memories(chroma, NAMESPACE))
        return opened[-1]

    yield load
    for memories in opened:
        memories.close()
