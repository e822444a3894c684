"""``ChromaStore``: LangGraph's ``BaseStore`` on Chroma.

Any LangGraph app (or LangMem's memory tools) can use it where it would use
``InMemoryStore`` or ``PostgresStore``: the answers are the same as
``InMemoryStore``'s (``langgraph.store.memory``), the reference implementation,
with these documented differences:

- ``created_at`` survives updates (as in ``PostgresStore``); ``InMemoryStore``
  resets it on every put.
- ``list_namespaces`` lists namespaces that hold items; ``InMemoryStore`` also
  lists namespaces that were only read or were emptied.
- A put replaces the item's vectors; ``InMemoryStore`` keeps the old ones when an
  item is put again with ``index=False``.
- Search scores are cosine similarities from Chroma's HNSW index: equal to
  ``InMemoryStore``'s up to float rounding, and approximate in order at scale.

Layout in Chroma. Each namespace has a collection (cosine space) with one record
per item, id ``"k:" + key``, so listing pages and searches need no metadata
filter (a ``where`` clause made Chroma queries 10-20x slower). The record's
metadata holds the value as JSON, ``created_at``/``updated_at`` (epoch seconds),
a revision and the number of vectors; its embedding is the item's first indexed
text, or a fixed pseudo-random unit vector for an item without text (never
returned as a match). Further texts of one item (``fields=["a", "b"]``) live in a
second collection (``...-x``) and count by max pooling, as in ``InMemoryStore``.
A store-wide manifest collection records the format, the embedder's name and
dimension, and the index generation (bumped by :meth:`ChromaStore.reindex`).

Durability. A put is one ``upsert`` of the item's record: all or nothing. Extra
vectors are written first, tagged with the new revision, and ignored unless the
item's record carries that revision, so a crash between the two writes leaves
the old item whole. Writers in one process are serialised by a lock; processes
sharing a data directory by a file lock, and a generation file tells a process
that another one wrote, so it reopens Chroma's client (whose in-memory index
does not see other processes' writes) before its next read.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from langgraph.store.base import (
    BaseStore,
    GetOp,
    IndexConfig,
    Item,
    ListNamespacesOp,
    Op,
    PutOp,
    Result,
    SearchItem,
    SearchOp,
    ensure_embeddings,
    get_text_at_path,
    tokenize_path,
    validate_op_namespace,
)

from assistant.errors import StorageError
from assistant.memory.filters import matches_condition, matches_filter

if TYPE_CHECKING:
    from assistant.config import Settings

log = logging.getLogger(__name__)

FORMAT = 1
_PAGE = 512
_LOCK_TIMEOUT_SECONDS = 30.0


class EmbedderMismatchError(StorageError):
    """The store was built with another embedder; its vectors cannot be compared."""


@dataclass
class _Space:
    """One namespace's collections."""

    namespace: tuple[str, ...]
    seq: int
    items: Any
    extras: Any | None


class _ProcessSync:
    """Serialises processes that share one Chroma directory.

    A file lock (``filelock``) is held for the length of a batch. Every writer
    stores a fresh token in the generation file before it writes; a process that
    finds a token it did not write reopens its client first.
    """

    def __init__(self, directory: Path) -> None:
        from filelock import FileLock

        self._lock = FileLock(directory / "assistant.lock", timeout=_LOCK_TIMEOUT_SECONDS)
        self._generation = directory / "assistant.generation"
        self.seen = self._read()

    def _read(self) -> str:
        try:
            return self._generation.read_text()
        except FileNotFoundError:
            return ""

    @contextmanager
    def hold(self) -> Iterator[bool]:
        """Hold the lock; yields whether another process wrote since we last looked."""
        from filelock import Timeout

        try:
            self._lock.acquire()
        except Timeout as exc:
            raise StorageError(
                f"The memory store is busy: another assistant process has held its lock for "
                f"{_LOCK_TIMEOUT_SECONDS:.0f} s ({self._lock.lock_file}). Try again."
            ) from exc
        try:
            current = self._read()
            changed = current != self.seen
            self.seen = current
            yield changed
        finally:
            self._lock.release()

    def bump(self) -> None:
        token = uuid.uuid4().hex
        tmp = self._generation.with_suffix(".tmp")
        tmp.write_text(token)
        os.replace(tmp, self._generation)
        self.seen = token


def _embedder_name(index: IndexConfig | None, explicit: str | None) -> str:
    if explicit:
        return explicit
    if not index:
        return "none"
    embed = index.get("embed")
    if isinstance(embed, str):
        return embed
    named = getattr(embed, "name", None)
    if isinstance(named, str):
        return named
    target = embed if callable(embed) and not hasattr(embed, "embed_documents") else type(embed)
    return f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', '?')}"


def _placeholder(key: str, dims: int) -> list[float]:
    """A fixed unit vector for an item without text: random, so far from real ones."""
    seed = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big")
    vector = np.random.default_rng(seed).standard_normal(dims)
    return (vector / np.linalg.norm(vector)).tolist()


def _dt(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _item(space: _Space, record_id: str, meta: Mapping[str, Any]) -> Item:
    return Item(
        value=json.loads(meta["value"]),
        key=record_id[2:],
        namespace=space.namespace,
        created_at=_dt(meta["created_at"]),
        updated_at=_dt(meta["updated_at"]),
    )


def _dumps(value: Any) -> str:
    """JSON text of a value; TypeError for what JSON cannot hold (as LangGraph's
    SQL stores raise)."""
    if not isinstance(value, Mapping):
        raise TypeError(f"An item's value must be a mapping, not {type(value).__name__}")
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


class ChromaStore(BaseStore):
    """A LangGraph ``BaseStore`` kept in Chroma, with optional semantic search.

    Build one with :meth:`persistent` (embedded, a directory on disk) or
    :meth:`server` (a Chroma server, ``chroma run``).

    Args:
        client_factory: makes the ``chromadb`` client (called again to reopen).
        index: LangGraph's ``IndexConfig``: ``dims``, ``embed`` (a LangChain
            ``Embeddings`` or a function of a list of texts) and ``fields``
            (paths embedded, default the whole value). ``None``: no semantic search.
        name: prefix of this store's collections (3+ characters of ``[a-zA-Z0-9-]``).
        directory: the embedded store's directory, for cross-process locking.
        location: where the store is, for messages (a directory is its own).
        embedder_name: recorded with the collections; defaults to the embedder's
            ``name`` attribute or its class.
        check_embedder: refuse a store built with another embedder (only
            :meth:`reindex` turns this off).

    Raises:
        EmbedderMismatchError: the store was built with another embedder.
        StorageError: the directory is not a store of ours, or is damaged.
    """

    supports_ttl = False

    def __init__(
        self,
        client_factory: Callable[[], Any],
        *,
        index: IndexConfig | None = None,
        name: str = "assistant",
        directory: Path | None = None,
        embedder_name: str | None = None,
        check_embedder: bool = True,
        location: str = "a Chroma client",
    ) -> None:
        if len(name) < 3 or not name.replace("-", "").isalnum() or not name.isascii():
            raise ValueError(f"Invalid store name {name!r}: use 3+ letters, digits or '-'")
        self._factory = client_factory
        self._name = name
        self.location = str(directory) if directory is not None else location
        self._lock = threading.RLock()
        self._sync = _ProcessSync(directory) if directory is not None else None
        self._client: Any = None
        self._spaces_cache: dict[tuple[str, ...], _Space] | None = None
        self._configure(index, embedder_name)
        with self._guard(writes=False):
            self._open_manifest(check_embedder)

    # construction ---------------------------------------------------------------------

    @classmethod
    def persistent(
        cls, path: Path, *, index: IndexConfig | None = None, **kwargs: Any
    ) -> ChromaStore:
        """An embedded store in ``path`` (``chromadb.PersistentClient``, telemetry off).

        Raises:
            StorageError: ``path`` holds something else than a store of ours, or a
                damaged Chroma database.
        """
        from assistant.paths import ensure_private_dir

        ensure_private_dir(path)
        if any(path.iterdir()) and not (path / "chroma.sqlite3").exists():
            raise StorageError(
                f"{path} is not a memory store (no chroma.sqlite3 in it). "
                "Point the data directory elsewhere or move that directory away."
            )

        def factory() -> Any:
            import chromadb
            from chromadb.config import Settings

            settings = Settings(anonymized_telemetry=False, allow_reset=False)
            return chromadb.PersistentClient(path=str(path), settings=settings)

        return cls(factory, index=index, directory=path, **kwargs)

    @classmethod
    def server(cls, url: str, *, index: IndexConfig | None = None, **kwargs: Any) -> ChromaStore:
        """A store on a Chroma server at ``url`` (``chromadb.HttpClient``, telemetry off).

        Raises:
            StorageError: the server cannot be reached.
        """
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

        return cls(factory, index=index, location=url, **kwargs)

    def _configure(self, index: IndexConfig | None, embedder_name: str | None) -> None:
        self.index_config = dict(index) if index else None
        self.embeddings = ensure_embeddings(index.get("embed")) if index else None
        self._dims = int(index["dims"]) if index else 1
        self._embedder = _embedder_name(index, embedder_name)
        fields = (index or {}).get("fields") or ["$"]
        self._fields = [(p, tokenize_path(p) if p != "$" else p) for p in fields]

    @property
    def embedder(self) -> tuple[str, int]:
        """The embedder's name and dimension recorded with this store."""
        return self._embedder, (self._dims if self.index_config else 0)

    def close(self) -> None:
        """Release Chroma's client (its files stay as they are)."""
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None
                self._spaces_cache = None

    # locking and the client -----------------------------------------------------------------

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
                raise StorageError(
                    f"Cannot open the memory store at {self.location}: {exc}. {hint}"
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
            self._manifest = self._client.create_collection(
                name, metadata={**mine, "generation": 0}, embedding_function=None
            )
        else:
            self._manifest = collections[name]
        meta = dict(self._manifest.metadata or {})
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

    # namespaces -----------------------------------------------------------------------------

    def _prefix(self, generation: int | None = None) -> str:
        return f"{self._name}-g{self._generation if generation is None else generation}-"

    def _collection_name(self, namespace: tuple[str, ...], generation: int | None = None) -> str:
        digest = hashlib.sha256(json.dumps(namespace).encode()).hexdigest()[:32]
        return f"{self._prefix(generation)}{digest}"

    def _spaces(self) -> dict[tuple[str, ...], _Space]:
        """Namespaces that have collections, in the order they were made."""
        if self._spaces_cache is not None and self._sync is not None:
            return self._spaces_cache
        prefix = self._prefix()
        found: list[_Space] = []
        extras: dict[str, Any] = {}
        for collection in self._client.list_collections():
            meta = collection.metadata or {}
            if not collection.name.startswith(prefix) or "namespace" not in meta:
                continue
            if meta.get("role") == "extras":
                extras[collection.name[: -len("-x")]] = collection
            else:
                namespace = tuple(json.loads(meta["namespace"]))
                found.append(_Space(namespace, int(meta["seq"]), collection, None))
        for space in found:
            space.extras = extras.get(space.items.name)
        found.sort(key=lambda s: (s.seq, s.items.name))
        self._spaces_cache = {s.namespace: s for s in found}
        return self._spaces_cache

    def _space(self, namespace: tuple[str, ...], generation: int | None = None) -> _Space:
        """The namespace's collections, made if needed."""
        spaces = self._spaces() if generation is None else {}
        if namespace in spaces:
            return spaces[namespace]
        name = self._collection_name(namespace, generation)
        collection = self._client.get_or_create_collection(
            name,
            metadata={"namespace": json.dumps(namespace), "seq": time.time_ns(), "role": "items"},
            configuration={"hnsw": {"space": "cosine"}},
            embedding_function=None,
        )
        space = _Space(namespace, int(collection.metadata["seq"]), collection, None)
        if generation is None and self._spaces_cache is not None:
            self._spaces_cache[namespace] = space
        return space

    def _extras(self, space: _Space) -> Any:
        if space.extras is None:
            space.extras = self._client.get_or_create_collection(
                f"{space.items.name}-x",
                metadata={"namespace": json.dumps(space.namespace), "role": "extras"},
                configuration={"hnsw": {"space": "cosine"}},
                embedding_function=None,
            )
        return space.extras

    # BaseStore --------------------------------------------------------------------------------

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        """Run operations in order, as ``InMemoryStore`` does: reads see the state
        before the batch's writes, which are applied at the end (the last put of a
        key wins).

        Raises:
            InvalidNamespaceError: a bad namespace label.
            TypeError: a value that JSON cannot hold.
            StorageError: the store cannot be read or written.
        """
        ops = list(ops)
        for op in ops:
            validate_op_namespace(op)
        puts: dict[tuple[tuple[str, ...], str], PutOp] = {}
        for op in ops:
            if isinstance(op, PutOp):
                puts[(op.namespace, op.key)] = op
        encoded = {k: _dumps(op.value) for k, op in puts.items() if op.value is not None}
        results: list[Result] = []
        with self._guard(writes=bool(puts)):
            for op in ops:
                if isinstance(op, GetOp):
                    results.append(self._get(op))
                elif isinstance(op, SearchOp):
                    results.append(self._search(op))
                elif isinstance(op, ListNamespacesOp):
                    results.append(self._list_namespaces(op))
                elif isinstance(op, PutOp):
                    results.append(None)
                else:
                    raise ValueError(f"Unknown operation type: {type(op)}")
            if puts:
                self._apply(puts, encoded)
        return results

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        """``batch`` in a worker thread (Chroma and ONNX block)."""
        return await asyncio.to_thread(self.batch, list(ops))

    def _get(self, op: GetOp) -> Item | None:
        space = self._spaces().get(op.namespace)
        if space is None:
            return None
        got = space.items.get(ids=["k:" + op.key], include=["metadatas"])
        if not got["ids"]:
            return None
        return _item(space, got["ids"][0], got["metadatas"][0])

    def _matching_spaces(self, prefix: tuple[str, ...]) -> list[_Space]:
        n = len(prefix)
        return [s for s in self._spaces().values() if s.namespace[:n] == prefix]

    def _search(self, op: SearchOp) -> list[SearchItem]:
        spaces = self._matching_spaces(op.namespace_prefix)
        if not spaces:
            return []
        if op.query and self.embeddings is not None:
            return self._search_query(op, spaces, self.embeddings.embed_query(op.query))
        return self._search_plain(op, spaces)

    def _search_plain(self, op: SearchOp, spaces: list[_Space]) -> list[SearchItem]:
        found: list[SearchItem] = []
        if op.filter or op.offset < 0 or op.limit < 0:
            for space in spaces:
                found.extend(self._scan(space, op.filter))
            return found[op.offset : op.offset + op.limit]
        skip, need = op.offset, op.limit
        for space in spaces:
            if need <= 0:
                break
            count = space.items.count()
            if skip >= count:
                skip -= count
                continue
            got = space.items.get(limit=need, offset=skip, include=["metadatas"])
            skip = 0
            for record_id, meta in zip(got["ids"], got["metadatas"], strict=True):
                found.append(_search_item(_item(space, record_id, meta), None))
            need = op.limit - len(found)
        return found

    def _records(self, space: _Space, *, unindexed_only: bool = False) -> Iterator[tuple[str, Any]]:
        """Every record of a namespace in storage order: ``(id, metadata)``, by pages."""
        where = {"vectors": 0} if unindexed_only else None
        offset = 0
        while True:
            got = space.items.get(where=where, limit=_PAGE, offset=offset, include=["metadatas"])
            yield from zip(got["ids"], got["metadatas"], strict=True)
            if len(got["ids"]) < _PAGE:
                return
            offset += _PAGE

    def _scan(
        self, space: _Space, filter: dict[str, Any] | None, *, unindexed_only: bool = False
    ) -> Iterator[SearchItem]:
        """Every item of a namespace in storage order, filtered."""
        for record_id, meta in self._records(space, unindexed_only=unindexed_only):
            item = _item(space, record_id, meta)
            if matches_filter(item.value, filter):
                yield _search_item(item, None)

    def _search_query(
        self, op: SearchOp, spaces: list[_Space], query: list[float]
    ) -> list[SearchItem]:
        want = max(op.offset + op.limit, 0)
        k = max(want, 10)
        while True:
            best: dict[tuple[tuple[str, ...], str], tuple[float, Item]] = {}
            exhausted = True
            for space in spaces:
                exhausted &= self._query_space(space, query, k, op.filter, best)
            ranked = sorted(best.values(), key=lambda pair: pair[0], reverse=True)
            if len(ranked) >= want or exhausted:
                break
            k *= 4
        page = ranked[op.offset : op.offset + op.limit]
        kept = [_search_item(item, score) for score, item in page]
        if len(kept) < op.limit:
            # As InMemoryStore: fill up with the matching items that have no vectors.
            for space in spaces:
                for item in self._scan(space, op.filter, unindexed_only=True):
                    if len(kept) >= op.limit:
                        return kept
                    kept.append(item)
        return kept

    def _query_space(
        self,
        space: _Space,
        query: list[float],
        k: int,
        filter: dict[str, Any] | None,
        best: dict[tuple[tuple[str, ...], str], tuple[float, Item]],
    ) -> bool:
        """Add the namespace's ``k`` nearest items to ``best`` (max pooling).

        Returns whether the namespace had no more than ``k`` vectors.
        """
        got = space.items.query(
            query_embeddings=[query], n_results=k, include=["metadatas", "distances"]
        )
        exhausted = len(got["ids"][0]) < k
        revisions: dict[str, str] = {}
        for record_id, meta, distance in zip(
            got["ids"][0], got["metadatas"][0], got["distances"][0], strict=True
        ):
            revisions[record_id] = meta["rev"]
            item = _item(space, record_id, meta)
            if meta["vectors"] and matches_filter(item.value, filter):
                _keep(best, 1.0 - distance, item)
        if space.extras is None:
            return exhausted
        extra = space.extras.query(
            query_embeddings=[query], n_results=k, include=["metadatas", "distances"]
        )
        exhausted &= len(extra["ids"][0]) < k
        hits = [
            ("k:" + meta["key"], meta["rev"], 1.0 - distance)
            for meta, distance in zip(extra["metadatas"][0], extra["distances"][0], strict=True)
        ]
        missing = sorted({rid for rid, _, _ in hits if rid not in revisions})
        owners: dict[str, Item] = {}
        if missing:
            got = space.items.get(ids=missing, include=["metadatas"])
            for record_id, meta in zip(got["ids"], got["metadatas"], strict=True):
                revisions[record_id] = meta["rev"]
                owners[record_id] = _item(space, record_id, meta)
        for record_id, rev, score in hits:
            if revisions.get(record_id) != rev:
                continue  # a leftover of an interrupted or newer write
            item = owners.get(record_id) or self._get(GetOp(space.namespace, record_id[2:]))
            if item is not None and matches_filter(item.value, filter):
                _keep(best, score, item)
        return exhausted

    def _list_namespaces(self, op: ListNamespacesOp) -> list[tuple[str, ...]]:
        namespaces = [ns for ns, space in self._spaces().items() if space.items.count() > 0]
        if op.match_conditions:
            namespaces = [
                ns
                for ns in namespaces
                if all(matches_condition(c, ns) for c in op.match_conditions)
            ]
        if op.max_depth is not None:
            namespaces = sorted({ns[: op.max_depth] for ns in namespaces})
        else:
            namespaces = sorted(namespaces)
        return namespaces[op.offset : op.offset + op.limit]

    # writes --------------------------------------------------------------------------------------

    def _texts(self, op: PutOp) -> list[str]:
        """The texts of an item that get embedded, in path order."""
        if self.embeddings is None or op.index is False:
            return []
        paths = self._fields if op.index is None else [(p, tokenize_path(p)) for p in op.index]
        texts: list[str] = []
        for _, field in paths:
            texts.extend(get_text_at_path(op.value, field))
        return texts

    def _apply(
        self, puts: dict[tuple[tuple[str, ...], str], PutOp], encoded: dict[Any, str]
    ) -> None:
        texts = {k: self._texts(op) for k, op in puts.items() if op.value is not None}
        flat = [t for ts in texts.values() for t in ts]
        vectors = iter(self.embeddings.embed_documents(flat) if flat else [])
        embedded = {k: [next(vectors) for _ in ts] for k, ts in texts.items()}
        by_space: dict[tuple[str, ...], list[PutOp]] = {}
        for (namespace, _), op in puts.items():
            by_space.setdefault(namespace, []).append(op)
        now = time.time()
        for namespace, ops in by_space.items():
            if all(op.value is None for op in ops) and namespace not in self._spaces():
                continue
            self._write_space(self._space(namespace), ops, encoded, embedded, now)

    def _write_space(
        self,
        space: _Space,
        ops: list[PutOp],
        encoded: dict[Any, str],
        embedded: dict[Any, list[list[float]]],
        now: float,
    ) -> None:
        ids = ["k:" + op.key for op in ops]
        got = space.items.get(ids=ids, include=["metadatas"])
        old = dict(zip(got["ids"], got["metadatas"], strict=True))
        records: dict[str, list[Any]] = {"ids": [], "embeddings": [], "metadatas": []}
        extras: dict[str, list[Any]] = {"ids": [], "embeddings": [], "metadatas": []}
        stale: list[str] = []
        removed: list[str] = []
        for record_id, op in zip(ids, ops, strict=True):
            previous = old.get(record_id)
            before = int(previous["vectors"]) if previous else 0
            if op.value is None:
                if previous:
                    removed.append(record_id)
                    stale.extend(f"{record_id}#{i}" for i in range(1, before))
                continue
            vectors = embedded[(op.namespace, op.key)]
            rev = uuid.uuid4().hex
            records["ids"].append(record_id)
            first = vectors[0] if vectors else _placeholder(op.key, self._dims)
            records["embeddings"].append(first)
            records["metadatas"].append(
                {
                    "value": encoded[(op.namespace, op.key)],
                    "created_at": float(previous["created_at"]) if previous else now,
                    "updated_at": now,
                    "rev": rev,
                    "vectors": len(vectors),
                    "index": json.dumps(op.index),
                }
            )
            for i, vector in enumerate(vectors[1:], start=1):
                extras["ids"].append(f"{record_id}#{i}")
                extras["embeddings"].append(vector)
                extras["metadatas"].append({"key": op.key, "rev": rev})
            stale.extend(f"{record_id}#{i}" for i in range(max(len(vectors), 1), before))
        try:
            if extras["ids"]:
                self._extras(space).upsert(**extras)
            if records["ids"]:
                space.items.upsert(**records)  # the commit point of every put here
            if removed:
                space.items.delete(ids=removed)
            if stale and space.extras is not None:
                space.extras.delete(ids=stale)
        except Exception as exc:  # chromadb raises many types (disk full, locked, ...)
            raise StorageError(f"Could not write to the memory store: {exc}") from exc

    # reindex -----------------------------------------------------------------------------------

    def reindex(
        self,
        index: IndexConfig | None,
        *,
        embedder_name: str | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Embed every item again with another embedder and switch the store to it.

        The new vectors go into a new generation of collections; the manifest then
        switches to it in one write, and the old collections are dropped, so an
        interrupted reindex leaves the old store as it was.

        Args:
            index: the new ``IndexConfig``.
            embedder_name: recorded name of the new embedder.
            progress: called with the number of items done so far.

        Returns:
            The number of items re-embedded.
        """
        with self._guard(writes=True):
            old_spaces = list(self._spaces().values())
            old_prefix = self._prefix()
            target = self._generation + 1
            for collection in self._client.list_collections():
                if collection.name.startswith(self._prefix(target)):
                    self._client.delete_collection(collection.name)
            self._configure(index, embedder_name)
            done = 0
            for space in old_spaces:
                new_space = self._space(space.namespace, generation=target)
                page: list[tuple[str, Any]] = []
                for record in self._records(space):
                    page.append(record)
                    if len(page) == _PAGE:
                        done += self._reembed(space, new_space, page)
                        page = []
                        if progress:
                            progress(done)
                done += self._reembed(space, new_space, page)
                if progress:
                    progress(done)
            meta = {
                **(self._manifest.metadata or {}),
                "embedder": self._embedder,
                "dims": self.embedder[1],
                "generation": target,
            }
            self._manifest.modify(metadata=meta)
            self._generation = target
            self.recorded_embedder = self.embedder
            self._spaces_cache = None
            for collection in self._client.list_collections():
                if collection.name.startswith(old_prefix):
                    self._client.delete_collection(collection.name)
        return done

    def _reembed(self, space: _Space, target: _Space, records: list[tuple[str, Any]]) -> int:
        """Write records into ``target`` with vectors from the current embedder."""
        if not records:
            return 0
        ops = [
            PutOp(space.namespace, rid[2:], json.loads(m["value"]), index=json.loads(m["index"]))
            for rid, m in records
        ]
        texts = [self._texts(op) for op in ops]
        flat = [t for ts in texts for t in ts]
        vectors = iter(self.embeddings.embed_documents(flat) if flat else [])
        batch: dict[str, list[Any]] = {"ids": [], "embeddings": [], "metadatas": []}
        extras: dict[str, list[Any]] = {"ids": [], "embeddings": [], "metadatas": []}
        for (record_id, meta), op, ts in zip(records, ops, texts, strict=True):
            own = [next(vectors) for _ in ts]
            batch["ids"].append(record_id)
            batch["embeddings"].append(own[0] if own else _placeholder(op.key, self._dims))
            batch["metadatas"].append({**meta, "vectors": len(own)})
            for i, vector in enumerate(own[1:], start=1):
                extras["ids"].append(f"{record_id}#{i}")
                extras["embeddings"].append(vector)
                extras["metadatas"].append({"key": op.key, "rev": meta["rev"]})
        if extras["ids"]:
            self._extras(target).upsert(**extras)
        target.items.upsert(**batch)
        return len(records)


def _keep(
    best: dict[tuple[tuple[str, ...], str], tuple[float, Item]], score: float, item: Item
) -> None:
    key = (item.namespace, item.key)
    if key not in best or best[key][0] < score:
        best[key] = (score, item)


def _search_item(item: Item, score: float | None) -> SearchItem:
    return SearchItem(
        namespace=item.namespace,
        key=item.key,
        value=item.value,
        created_at=item.created_at,
        updated_at=item.updated_at,
        score=score,
    )


def fill_namespace(template: tuple[str, ...], **values: str) -> tuple[str, ...]:
    """Fill a namespace template such as ``("memories", "{user_id}")``.

    Raises:
        KeyError: a placeholder without a value.
        InvalidNamespaceError: a filled label is empty or holds a ".".
    """
    from langgraph.store.base import InvalidNamespaceError

    namespace = tuple(label.format(**values) for label in template)
    for label in namespace:
        if not label or "." in label:
            raise InvalidNamespaceError(
                f"Namespace label {label!r} (from {template}) must be non-empty and without '.'"
            )
    return namespace


def open_store(settings: Settings, *, check_embedder: bool = True) -> ChromaStore:
    """The memory store the settings describe, with the configured embedder.

    Embedded Chroma in ``settings.memory_path``, or the server at
    ``settings.chroma_url``; the ``text`` field of values is embedded.

    Raises:
        EmbedderMismatchError: the store was built with another embedder.
        StorageError: the store cannot be opened.
        ConfigError: an unknown embedder.
    """
    from assistant.embeddings import load_embedder

    embedder = load_embedder(settings)
    index: IndexConfig = {"dims": embedder.dims, "embed": embedder, "fields": ["text"]}  # type: ignore[attr-defined]
    options: dict[str, Any] = {"embedder_name": embedder.name, "check_embedder": check_embedder}  # type: ignore[attr-defined]
    if settings.chroma_url:
        return ChromaStore.server(settings.chroma_url, index=index, **options)
    return ChromaStore.persistent(settings.memory_path, index=index, **options)


def memory_namespace(settings: Settings) -> tuple[str, ...]:
    """``settings.memory_namespace`` with ``{user_id}`` filled in."""
    return fill_namespace(settings.memory_namespace, user_id=settings.user_id)
