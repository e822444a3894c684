"""Fixtures for the memory store suites: ``ChromaStore`` embedded (real Chroma on a
temp dir) and on a real Chroma server (``chroma run`` on loopback), and LangGraph's
``InMemoryStore``, the reference, all with the same embedder."""

import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from langgraph.store.base import BaseStore, IndexConfig
from langgraph.store.memory import InMemoryStore

from assistant.embeddings import MiniLMEmbeddings
from assistant.store.chroma import ChromaStore

StoreFactory = Callable[..., BaseStore]


def start_chroma_server(path: Path) -> tuple[str, subprocess.Popen]:
    """Start ``chroma run`` on a free loopback port; returns its URL and process."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    chroma = Path(sys.executable).with_name("chroma")
    log = (path.parent / f"{path.name}.log").open("w")
    server = subprocess.Popen(
        [str(chroma), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={"ANONYMIZED_TELEMETRY": "False", "PATH": "/usr/bin:/bin"},
    )
    log.close()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"{url}/api/v2/heartbeat", timeout=1).raise_for_status()
            return url, server
        except httpx.HTTPError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"chroma run did not start; see {log.name}")
            time.sleep(0.2)


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Chroma server (``chroma run``) on loopback, for the whole session."""
    url, server = start_chroma_server(tmp_path_factory.mktemp("chroma-server"))
    yield url
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture(params=["chroma", "server", "inmemory"])
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
        elif request.param == "server":
            url = request.getfixturevalue("chroma_server")
            store = ChromaStore.server(url, index=index, name=f"t{uuid.uuid4().hex}")
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
