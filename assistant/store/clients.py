"""Chroma clients for :class:`assistant.store.chroma.ChromaStore`, as factories
(the store calls one again to reopen its client after another process wrote).

Both turn Chroma's telemetry off (``anonymized_telemetry=False``); an embedded
store's directory is checked before Chroma would make a new, empty database in
a directory that lost its own or holds something else.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from assistant.errors import StorageError
from assistant.store.sentinel import Sentinel


def embedded_client(path: Path) -> Callable[[], Any]:
    """A factory of ``chromadb.PersistentClient`` on ``path`` (made private, 0700).

    Raises:
        StoreLostError: the store lost its data (``assistant.manifest.json``
            says what it held; :mod:`assistant.store.sentinel`).
        StorageError: ``path`` holds something else than a store of ours.
    """
    from assistant.paths import ensure_private_dir

    ensure_private_dir(path)
    database = path / "chroma.sqlite3"
    sentinel = Sentinel(path)
    expected = sentinel.read()
    if expected is not None and (not database.exists() or database.stat().st_size == 0):
        sentinel.check(expected, None, 0)  # lost: refused before Chroma makes a new one
    if any(path.iterdir()) and not database.exists():
        raise StorageError(
            f"{path} is not a memory store (no chroma.sqlite3 in it). "
            "Point the data directory elsewhere or move that directory away."
        )

    def factory() -> Any:
        import chromadb
        from chromadb.config import Settings

        settings = Settings(anonymized_telemetry=False, allow_reset=False)
        return chromadb.PersistentClient(path=str(path), settings=settings)

    return factory


def server_client(url: str) -> Callable[[], Any]:
    """A factory of ``chromadb.HttpClient`` for a Chroma server at ``url``
    (``http://host:port``; https means port 443 unless given, http 8000)."""
    import httpx

    parsed = httpx.URL(url)

    def factory() -> Any:
        import chromadb
        from chromadb.config import Settings

        return chromadb.HttpClient(
            host=parsed.host,
            port=parsed.port or (443 if parsed.scheme == "https" else 8000),
            ssl=parsed.scheme == "https",
            settings=Settings(anonymized_telemetry=False),
        )

    return factory
