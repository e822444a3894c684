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
the old value whole (only its further vectors may be ignored until it is
written again). Writers in one process are serialised by a lock; processes
sharing a data directory by a file lock, and a generation file tells a process
that another one wrote, so it reopens Chroma's client (whose in-memory index
does not see other processes' writes) before its next read.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import httpx
from chromadb.errors import ChromaError
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
from assistant.store.batching import Batcher
from assistant.store.clients import embedded_client, server_client
from assistant.store.filters import matches_condition
from assistant.store.locking import ProcessLock
from assistant.store.namespace_collections import NamespaceCollections
from assistant.store.opening import Opening
from assistant.store.records import Best, describe_embedder, dumps, search_item
from assistant.store.reindex import Reindexing
from assistant.store.sentinel import Sentinel
from assistant.store.vectors import Vectors

log = logging.getLogger(__name__)


class ChromaStore(Opening, Reindexing, BaseStore):
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
        symmetric: the embedder embeds a query as it embeds a document, so a
            batch's queries are embedded together and reused by puts
            (:mod:`assistant.store.vectors`); default: its ``symmetric`` attribute.

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
        symmetric: bool | None = None,
    ) -> None:
        if len(name) < 3 or not name.replace("-", "").isalnum() or not name.isascii():
            raise ValueError(f"Invalid store name {name!r}: use 3+ letters, digits or '-'")
        self._factory = client_factory
        self._name = name
        self.location = str(directory) if directory is not None else location
        self._lock = threading.RLock()
        self._sync = ProcessLock(directory) if directory is not None else None
        self._client: Any = None
        self._spaces_cache: dict[tuple[str, ...], NamespaceCollections] | None = None
        self._writes = 0
        self._symmetric = symmetric
        self._sentinel = Sentinel(directory) if directory is not None else None
        self._batcher = Batcher(self.batch)
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
            StoreLostError: the store lost its data (``assistant.manifest.json``
                says what it held; :mod:`assistant.store.sentinel`).
            StorageError: ``path`` holds something else than a store of ours, or a
                damaged Chroma database.
        """
        return cls(embedded_client(path), index=index, directory=path, **kwargs)

    @classmethod
    def server(cls, url: str, *, index: IndexConfig | None = None, **kwargs: Any) -> ChromaStore:
        """A store on a Chroma server at ``url`` (``chromadb.HttpClient``, telemetry off).

        Raises:
            StorageError: the server cannot be reached.
        """
        return cls(server_client(url), index=index, location=url, **kwargs)

    def share_vectors(self, other: ChromaStore) -> None:
        """Use ``other``'s kept query vectors (both embed with one embedder): a query
        embedded for a search of one is not embedded again for the other (recall
        searches the memories, then conversation search, with the same message).

        Raises:
            ValueError: the two stores embed with different embedders.
        """
        if self._embedder != other._embedder or other._vectors is None:
            raise ValueError(f"{self._embedder} and {other._embedder} embed differently")
        self._vectors = other._vectors

    def _configure(self, index: IndexConfig | None, embedder_name: str | None) -> None:
        self.index_config = dict(index) if index else None
        self.embeddings = ensure_embeddings(index.get("embed")) if index else None
        symmetric = self._symmetric
        if symmetric is None:
            symmetric = bool(getattr(self.embeddings, "symmetric", False))
        self._vectors = Vectors(self.embeddings, symmetric=symmetric) if self.embeddings else None
        self._dims = int(index["dims"]) if index else 1
        self._embedder = describe_embedder(index, embedder_name)
        fields = (index or {}).get("fields") or ["$"]
        self._fields = [(p, tokenize_path(p) if p != "$" else p) for p in fields]

    @property
    def embedder(self) -> tuple[str, int]:
        """The embedder's name and dimension recorded with this store."""
        return self._embedder, (self._dims if self.index_config else 0)

    @property
    def change_token(self) -> object | None:
        """A value that changes whenever this store's content may have changed: by a
        write of this process or, for an embedded store, of another one (its
        generation file). ``None`` on a server, where other clients' writes are not
        seen: callers must not cache then."""
        if self._sync is None:
            return None
        return (self._writes, self._sync.peek())

    def close(self) -> None:
        """Release Chroma's client (its files stay as they are)."""
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None
                self._spaces_cache = None

    # namespaces -----------------------------------------------------------------------------

    def _prefix(self, generation: int | None = None) -> str:
        return f"{self._name}-g{self._generation if generation is None else generation}-"

    def _collection_name(self, namespace: tuple[str, ...], generation: int | None = None) -> str:
        digest = hashlib.sha256(json.dumps(namespace).encode()).hexdigest()[:32]
        return f"{self._prefix(generation)}{digest}"

    def _spaces(self) -> dict[tuple[str, ...], NamespaceCollections]:
        """Namespaces that have collections, in the order they were made."""
        if self._spaces_cache is not None and self._sync is not None:
            return self._spaces_cache
        prefix = self._prefix()
        found: list[NamespaceCollections] = []
        extras: dict[str, Any] = {}
        for collection in self._client.list_collections():
            meta = collection.metadata or {}
            if not collection.name.startswith(prefix) or "namespace" not in meta:
                continue
            if meta.get("role") == "extras":
                extras[collection.name[: -len("-x")]] = collection
            else:
                namespace = tuple(json.loads(meta["namespace"]))
                found.append(self._collections(namespace, int(meta["seq"]), collection))
        for space in found:
            space.extras = extras.get(space.items.name)
        found.sort(key=lambda s: (s.seq, s.items.name))
        self._spaces_cache = {s.namespace: s for s in found}
        return self._spaces_cache

    def _space(
        self, namespace: tuple[str, ...], generation: int | None = None
    ) -> NamespaceCollections:
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
        space = self._collections(namespace, int(collection.metadata["seq"]), collection)
        if generation is None and self._spaces_cache is not None:
            self._spaces_cache[namespace] = space
        return space

    def _collections(
        self, namespace: tuple[str, ...], seq: int, items: Any
    ) -> NamespaceCollections:
        def create_extras() -> Any:
            return self._client.get_or_create_collection(
                f"{items.name}-x",
                metadata={"namespace": json.dumps(namespace), "role": "extras"},
                configuration={"hnsw": {"space": "cosine"}},
                embedding_function=None,
            )

        return NamespaceCollections(namespace, seq, items, None, create_extras)

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
        encoded = {k: dumps(op.value) for k, op in puts.items() if op.value is not None}
        results: list[Result] = []
        try:
            with self._guard(writes=bool(puts)):
                self._run(ops, puts, encoded, results)
        except (httpx.HTTPError, ChromaError) as exc:
            raise StorageError(f"The memory store at {self.location} failed: {exc}") from exc
        return results

    def _run(
        self,
        ops: list[Op],
        puts: dict[tuple[tuple[str, ...], str], PutOp],
        encoded: dict[Any, str],
        results: list[Result],
    ) -> None:
        # Each distinct query is embedded once per batch, however many namespaces
        # it searches (all together, for a symmetric embedder).
        queries = [op.query for op in ops if isinstance(op, SearchOp) and op.query]
        vectors = self._vectors.queries(queries) if self._vectors and queries else {}
        # Equal reads in one batch (merged concurrent calls repeat them) run once.
        seen: dict[Any, Any] = {}
        for op in ops:
            if isinstance(op, PutOp):
                results.append(None)
                continue
            key = _read_key(op)
            if key not in seen:
                if isinstance(op, GetOp):
                    seen[key] = self._get(op)
                elif isinstance(op, SearchOp):
                    seen[key] = self._search(op, vectors)
                elif isinstance(op, ListNamespacesOp):
                    seen[key] = self._list_namespaces(op)
                else:
                    raise ValueError(f"Unknown operation type: {type(op)}")
            found = seen[key]
            results.append(list(found) if isinstance(found, list) else found)
        if puts:
            self._apply(puts, encoded)
            if self._sentinel is not None:
                self._sentinel.written(puts.values(), self._count_items)

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        """``batch`` in a worker thread (Chroma and ONNX block), merged with the
        concurrent calls of the same event loop (:mod:`assistant.store.batching`)."""
        return await self._batcher.run(list(ops))

    def _get(self, op: GetOp) -> Item | None:
        space = self._spaces().get(op.namespace)
        if space is None:
            return None
        return space.get(op.key)

    def _matching_spaces(self, prefix: tuple[str, ...]) -> list[NamespaceCollections]:
        n = len(prefix)
        return [s for s in self._spaces().values() if s.namespace[:n] == prefix]

    def _search(self, op: SearchOp, vectors: dict[str, list[float]]) -> list[SearchItem]:
        spaces = self._matching_spaces(op.namespace_prefix)
        if not spaces:
            return []
        if op.query and self.embeddings is not None:
            return self._search_query(op, spaces, vectors[op.query])
        return self._search_plain(op, spaces)

    def _search_plain(self, op: SearchOp, spaces: list[NamespaceCollections]) -> list[SearchItem]:
        found: list[SearchItem] = []
        if op.filter or op.offset < 0 or op.limit < 0:
            for space in spaces:
                found.extend(space.scan(op.filter))
            return found[op.offset : op.offset + op.limit]
        skip, need = op.offset, op.limit
        for space in spaces:
            if need <= 0:
                break
            if skip:
                count = space.items.count()
                if skip >= count:
                    skip -= count
                    continue
            found.extend(space.page(skip, need))
            skip = 0
            need = op.limit - len(found)
        return found

    def _search_query(
        self, op: SearchOp, spaces: list[NamespaceCollections], query: list[float]
    ) -> list[SearchItem]:
        want = max(op.offset + op.limit, 0)
        k = max(want, 10)
        while True:
            best: Best = {}
            exhausted = True
            for space in spaces:
                exhausted &= space.query(query, k, op.filter, best)
            ranked = sorted(best.values(), key=lambda pair: pair[0], reverse=True)
            if len(ranked) >= want or exhausted:
                break
            k *= 4
        page = ranked[op.offset : op.offset + op.limit]
        kept = [search_item(item, score) for score, item in page]
        if len(kept) < op.limit:
            # As InMemoryStore: fill up with the matching items that have no vectors.
            for space in spaces:
                for item in space.scan(op.filter, unindexed_only=True):
                    if len(kept) >= op.limit:
                        return kept
                    kept.append(item)
        return kept

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

    def _embed(self, ops: list[PutOp]) -> list[list[list[float]]]:
        """The vectors of each op's texts, in one embedder call for them all."""
        texts = [self._texts(op) if op.value is not None else [] for op in ops]
        flat = [t for ts in texts for t in ts]
        vectors = iter(self._vectors.documents(flat) if self._vectors else [])
        return [[next(vectors) for _ in ts] for ts in texts]

    def _apply(
        self, puts: dict[tuple[tuple[str, ...], str], PutOp], encoded: dict[Any, str]
    ) -> None:
        vectors = dict(zip(puts, self._embed(list(puts.values())), strict=True))
        self._writes += 1
        by_space: dict[tuple[str, ...], list[PutOp]] = {}
        for (namespace, _), op in puts.items():
            by_space.setdefault(namespace, []).append(op)
        now = time.time()
        for namespace, ops in by_space.items():
            if all(op.value is None for op in ops) and namespace not in self._spaces():
                continue
            self._space(namespace).write(
                ops,
                {op.key: encoded[(namespace, op.key)] for op in ops if op.value is not None},
                {op.key: vectors[(namespace, op.key)] for op in ops},
                now,
                self._dims,
            )


def _read_key(op: Op) -> Any:
    """What makes two read operations equal (their results are the same)."""
    if isinstance(op, SearchOp):
        filter_key = json.dumps(op.filter, sort_keys=True, default=repr) if op.filter else None
        return ("search", op.namespace_prefix, filter_key, op.limit, op.offset, op.query)
    if isinstance(op, GetOp):
        return ("get", op.namespace, op.key)
    if isinstance(op, ListNamespacesOp):
        return ("list", op.match_conditions, op.max_depth, op.limit, op.offset)
    return ("other", id(op))
