"""Fixtures for the memory store suites: ``ChromaStore`` (real Chroma on a temp
dir) and LangGraph's ``InMemoryStore``, the reference, with the same embedder."""

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from langgraph.store.base import BaseStore, IndexConfig
from langgraph.store.memory import InMemoryStore

from assistant.embeddings import MiniLMEmbeddings
from assistant.memory.store import ChromaStore

StoreFactory = Callable[..., BaseStore]


@pytest.fixture(scope="session")
def minilm() -> MiniLMEmbeddings:
    """The real embedder, loaded once."""
    return MiniLMEmbeddings()


@pytest.fixture(params=["chroma", "inmemory"])
def make_store(
    request: pytest.FixtureRequest, tmp_path: Path, minilm: MiniLMEmbeddings
) -> Iterator[StoreFactory]:
    """Builds a store of the parametrised kind; ``index=None`` for no search."""
    made: list[BaseStore] = []

    def factory(index: IndexConfig | str | None = "default") -> BaseStore:
        if index == "default":
            index = {"dims": minilm.dims, "embed": minilm, "fields": ["text"]}
        if request.param == "inmemory":
            store: BaseStore = InMemoryStore(index=index)
        else:
            store = ChromaStore.persistent(tmp_path / f"chroma{len(made)}", index=index)
        made.append(store)
        return store

    yield factory
    for store in made:
        if isinstance(store, ChromaStore):
            store.close()


@pytest.fixture
def kv(make_store: StoreFactory) -> BaseStore:
    """A store with semantic search on the ``text`` field."""
    return make_store()
