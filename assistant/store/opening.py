"""Opening a ``ChromaStore``: its client, its manifest and its sentinel, and the
locks every operation holds.

A mixin of :class:`assistant.store.chroma.ChromaStore`, kept apart so that the
store's module stays readable; it uses the store's attributes set in its
``__init__``. The manifest collection (``<name>-manifest``) records the format,
the embedder and the index generation; the sentinel file
(:mod:`assistant.store.sentinel`) what the store held, so that a lost database
is refused rather than read as an empty one.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from assistant.errors import StorageError
from assistant.store.locking import ProcessLock
from assistant.store.sentinel import Sentinel

#: The layout version this code writes and reads (a newer one is refused).
FORMAT = 1


class EmbedderMismatchError(StorageError):
    """The store was built with another embedder; its vectors cannot be compared."""


class Opening:
    """Client, manifest and locks of ``ChromaStore`` (see there for the attributes)."""

    _lock: Any
    _sync: ProcessLock | None
    _client: Any
    _factory: Callable[[], Any]
    _spaces_cache: Any
    _sentinel: Sentinel | None
    _name: str
    _embedder: str
    _manifest: Any
    _generation: int
    location: str
    embedder: Any
    recorded_embedder: tuple[str, int]

    def close(self) -> None:  # pragma: no cover - ChromaStore defines it
        raise NotImplementedError

    def _spaces(self) -> dict[tuple[str, ...], Any]:  # pragma: no cover - ChromaStore's
        raise NotImplementedError

    @contextmanager
    def _guard(self, *, writes: bool) -> Iterator[None]:
        with self._lock:
            if self._sync is None:
                self._ensure_client()
                yield
                return
            with self._sync.hold() as changed:
                if changed:
                    self.close()
                self._ensure_client()
                if writes:
                    self._sync.bump()
                yield

    def _ensure_client(self) -> None:
        if self._client is None:
            try:
                self._client = self._factory()
            except Exception as exc:  # chromadb raises many types for a bad directory
                if self._sync is None:
                    hint = "Is the Chroma server (`chroma run`) running there?"
                else:
                    hint = (
                        "If its files are damaged, move the directory away "
                        "(a new, empty store is made) or restore a backup."
                    )
                reason = str(exc).strip().rstrip(".")
                raise StorageError(
                    f"Cannot open the memory store at {self.location}: {reason}. {hint}"
                ) from exc

    def _open_manifest(self, check_embedder: bool) -> None:
        name = f"{self._name}-manifest"
        collections = {c.name: c for c in self._client.list_collections()}
        mine = {"format": FORMAT, "embedder": self._embedder, "dims": self.embedder[1]}
        if name not in collections:
            ours = any(n.endswith("-manifest") for n in collections)
            if self._sync is not None and collections and not ours:
                raise StorageError(
                    "The memory directory holds a Chroma database that assistant did not "
                    f"create ({len(collections)} foreign collections). Point the data "
                    "directory elsewhere or move that directory away."
                )
            if self._sentinel is not None:
                self._sentinel.check(self._sentinel.read(), None, 0)  # raises if it had one
            self._manifest = self._client.create_collection(
                name,
                metadata={**mine, "generation": 0, "store_id": uuid.uuid4().hex},
                embedding_function=None,
            )
        else:
            self._manifest = collections[name]
        meta = dict(self._manifest.metadata or {})
        if "store_id" not in meta:  # a store made before stores had an identity
            meta["store_id"] = uuid.uuid4().hex
            self._manifest.modify(metadata=meta)
        if int(meta.get("format", 0)) > FORMAT:
            raise StorageError(
                "The memory store was written by a newer version of assistant; upgrade it."
            )
        found = (str(meta.get("embedder")), int(meta.get("dims", -1)))
        self.recorded_embedder = found
        """The embedder name and dimension the stored vectors were made with."""
        if check_embedder and found != self.embedder:
            raise EmbedderMismatchError(
                f"The memory store was built with the embedder {found[0]} ({found[1]} dims), "
                f"not {self.embedder[0]} ({self.embedder[1]} dims). Run "
                "`assistant memories reindex` to embed the memories again, or switch back."
            )
        self._generation = int(meta.get("generation", 0))
        self._expect(str(meta["store_id"]))

    def _expect(self, store_id: str) -> None:
        """Check the store against its sentinel file (:mod:`assistant.store.sentinel`)."""
        if self._sentinel is not None:
            self._sentinel.open(store_id, self._count_items)

    def _count_items(self) -> int:
        return sum(space.items.count() for space in self._spaces().values())
