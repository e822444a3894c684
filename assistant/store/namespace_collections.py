"""One namespace of a ``ChromaStore``: its Chroma collections, read and written.

Layout (see ``assistant.store.chroma``): the ``items`` collection has one record
per item, id ``"k:" + key``, metadata ``value`` (JSON), ``created_at`` and
``updated_at`` (epoch seconds), ``rev``, ``vectors`` (how many texts were
embedded) and ``index`` (the put's ``index`` argument, JSON). Its embedding is
the first text's vector, or a placeholder when there is none. The ``extras``
collection, made when first needed, holds the further vectors of items with
several texts, id ``"k:KEY#i"``, tagged with the item's ``rev``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from langgraph.store.base import Item, PutOp, SearchItem

from assistant.errors import StorageError
from assistant.store.filters import matches_filter
from assistant.store.records import Best, keep, placeholder, search_item, to_item

PAGE = 512
Vectors = list[list[float]]


def record_id(key: str) -> str:
    return "k:" + key


@dataclass
class NamespaceCollections:
    """The collections of one namespace.

    Attributes:
        namespace: the LangGraph namespace.
        seq: creation order among namespaces (nanoseconds since the epoch).
        items: the Chroma collection of items.
        extras: the collection of further vectors, or ``None`` until one is needed.
        create_extras: makes the extras collection.
    """

    namespace: tuple[str, ...]
    seq: int
    items: Any
    extras: Any | None
    create_extras: Callable[[], Any]

    def item(self, rid: str, meta: Any) -> Item:
        return to_item(self.namespace, rid, meta)

    def get(self, key: str) -> Item | None:
        got = self.items.get(ids=[record_id(key)], include=["metadatas"])
        return self.item(got["ids"][0], got["metadatas"][0]) if got["ids"] else None

    def records(self, *, unindexed_only: bool = False) -> Iterator[tuple[str, Any]]:
        """Every record in storage order: ``(id, metadata)``, read by pages."""
        where = {"vectors": 0} if unindexed_only else None
        offset = 0
        while True:
            got = self.items.get(where=where, limit=PAGE, offset=offset, include=["metadatas"])
            yield from zip(got["ids"], got["metadatas"], strict=True)
            if len(got["ids"]) < PAGE:
                return
            offset += PAGE

    def scan(
        self, filter: dict[str, Any] | None, *, unindexed_only: bool = False
    ) -> Iterator[SearchItem]:
        """Every item in storage order that passes ``filter``."""
        for rid, meta in self.records(unindexed_only=unindexed_only):
            item = self.item(rid, meta)
            if matches_filter(item.value, filter):
                yield search_item(item, None)

    def page(self, offset: int, limit: int) -> list[SearchItem]:
        """Items ``offset`` to ``offset + limit`` in storage order."""
        got = self.items.get(limit=limit, offset=offset, include=["metadatas"])
        pairs = zip(got["ids"], got["metadatas"], strict=True)
        return [search_item(self.item(rid, meta), None) for rid, meta in pairs]

    def query(self, vector: list[float], k: int, filter: dict[str, Any] | None, best: Best) -> bool:
        """Add the ``k`` nearest items that pass ``filter`` to ``best`` (max pooling).

        Scores are cosine similarities (1 - Chroma's cosine distance).

        Returns:
            Whether the namespace has no more than ``k`` vectors (nothing was left out).
        """
        got = self.items.query(
            query_embeddings=[vector], n_results=k, include=["metadatas", "distances"]
        )
        exhausted = len(got["ids"][0]) < k
        revisions: dict[str, str] = {}
        for rid, meta, distance in zip(
            got["ids"][0], got["metadatas"][0], got["distances"][0], strict=True
        ):
            revisions[rid] = meta["rev"]
            item = self.item(rid, meta)
            if meta["vectors"] and matches_filter(item.value, filter):
                keep(best, 1.0 - distance, item)
        if self.extras is None:
            return exhausted
        extra = self.extras.query(
            query_embeddings=[vector], n_results=k, include=["metadatas", "distances"]
        )
        exhausted &= len(extra["ids"][0]) < k
        hits = [
            (record_id(meta["key"]), meta["rev"], 1.0 - distance)
            for meta, distance in zip(extra["metadatas"][0], extra["distances"][0], strict=True)
        ]
        owners: dict[str, Item] = {}
        missing = sorted({rid for rid, _, _ in hits if rid not in revisions})
        if missing:
            got = self.items.get(ids=missing, include=["metadatas"])
            for rid, meta in zip(got["ids"], got["metadatas"], strict=True):
                revisions[rid] = meta["rev"]
                owners[rid] = self.item(rid, meta)
        for rid, rev, score in hits:
            if revisions.get(rid) != rev:
                continue  # a leftover of an interrupted write
            item = owners.get(rid) or self.get(rid[2:])
            if item is not None and matches_filter(item.value, filter):
                keep(best, score, item)
        return exhausted

    def write(
        self,
        ops: list[PutOp],
        encoded: dict[str, str],
        embedded: dict[str, Vectors],
        now: float,
        dims: int,
    ) -> None:
        """Apply puts and deletes (``value=None``) of this namespace.

        Args:
            ops: at most one op per key.
            encoded: the JSON text of each put's value, by key.
            embedded: each put's vectors, by key (empty for an unindexed item).
            now: the write time, epoch seconds.
            dims: the dimension of placeholder vectors.

        Raises:
            StorageError: Chroma failed to write.
        """
        ids = [record_id(op.key) for op in ops]
        got = self.items.get(ids=ids, include=["metadatas"])
        old = dict(zip(got["ids"], got["metadatas"], strict=True))
        records: dict[str, list[Any]] = {"ids": [], "embeddings": [], "metadatas": []}
        extras: dict[str, list[Any]] = {"ids": [], "embeddings": [], "metadatas": []}
        stale: list[str] = []
        removed: list[str] = []
        for rid, op in zip(ids, ops, strict=True):
            previous = old.get(rid)
            before = int(previous["vectors"]) if previous else 0
            if op.value is None:
                if previous:
                    removed.append(rid)
                    stale.extend(f"{rid}#{i}" for i in range(1, before))
                continue
            vectors = embedded[op.key]
            rev = uuid.uuid4().hex
            records["ids"].append(rid)
            records["embeddings"].append(vectors[0] if vectors else placeholder(op.key, dims))
            records["metadatas"].append(
                {
                    "value": encoded[op.key],
                    "created_at": float(previous["created_at"]) if previous else now,
                    "updated_at": now,
                    "rev": rev,
                    "vectors": len(vectors),
                    "index": json.dumps(op.index),
                }
            )
            for i, vector in enumerate(vectors[1:], start=1):
                extras["ids"].append(f"{rid}#{i}")
                extras["embeddings"].append(vector)
                extras["metadatas"].append({"key": op.key, "rev": rev})
            stale.extend(f"{rid}#{i}" for i in range(max(len(vectors), 1), before))
        try:
            if extras["ids"]:
                self._extras().upsert(**extras)
            if records["ids"]:
                self.items.upsert(**records)  # the commit point of every put here
            if removed:
                self.items.delete(ids=removed)
            if stale and self.extras is not None:
                self.extras.delete(ids=stale)
        except Exception as exc:  # chromadb raises many types (disk full, locked, ...)
            raise StorageError(f"Could not write to the memory store: {exc}") from exc

    def write_records(
        self, records: list[tuple[str, Any]], vectors: list[Vectors], dims: int
    ) -> None:
        """Write records as they are, with new vectors (for a reindex)."""
        batch: dict[str, list[Any]] = {"ids": [], "embeddings": [], "metadatas": []}
        extras: dict[str, list[Any]] = {"ids": [], "embeddings": [], "metadatas": []}
        for (rid, meta), own in zip(records, vectors, strict=True):
            batch["ids"].append(rid)
            batch["embeddings"].append(own[0] if own else placeholder(rid[2:], dims))
            batch["metadatas"].append({**meta, "vectors": len(own)})
            for i, vector in enumerate(own[1:], start=1):
                extras["ids"].append(f"{rid}#{i}")
                extras["embeddings"].append(vector)
                extras["metadatas"].append({"key": rid[2:], "rev": meta["rev"]})
        if extras["ids"]:
            self._extras().upsert(**extras)
        if batch["ids"]:
            self.items.upsert(**batch)

    def _extras(self) -> Any:
        if self.extras is None:
            self.extras = self.create_extras()
        return self.extras
