"""Reindexing a ``ChromaStore``: every item embedded again with another embedder.

A mixin of :class:`assistant.store.chroma.ChromaStore`, kept apart so that the
store's module stays readable; it uses the store's lock, client, manifest and
namespaces.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from langgraph.store.base import IndexConfig, PutOp

from assistant.store.namespace_collections import PAGE, NamespaceCollections


class Reindexing:
    """``reindex`` for ``ChromaStore`` (see there for the attributes it uses)."""

    _client: Any
    _manifest: Any
    _generation: int
    _dims: int
    _embedder: str
    _spaces_cache: Any
    index_config: Any
    recorded_embedder: tuple[str, int]

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
            previous = (self.index_config, self._embedder)
            self._configure(index, embedder_name)
            try:
                done = self._reembed_all(old_spaces, target, progress)
            except BaseException:
                self._configure(*previous)  # the manifest still names the old embedder
                raise
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

    def _reembed_all(
        self,
        spaces: list[NamespaceCollections],
        target: int,
        progress: Callable[[int], None] | None,
    ) -> int:
        """Copy every namespace into generation ``target`` with new vectors."""
        done = 0
        for space in spaces:
            new_space = self._space(space.namespace, generation=target)
            page: list[tuple[str, Any]] = []
            for record in space.records():
                page.append(record)
                if len(page) == PAGE:
                    done += self._reembed(space, new_space, page)
                    page = []
                    if progress:
                        progress(done)
            done += self._reembed(space, new_space, page)
            if progress:
                progress(done)
        return done

    def _reembed(
        self,
        space: NamespaceCollections,
        target: NamespaceCollections,
        records: list[tuple[str, Any]],
    ) -> int:
        """Write records into ``target`` with vectors from the current embedder."""
        ops = [
            PutOp(space.namespace, rid[2:], json.loads(m["value"]), index=json.loads(m["index"]))
            for rid, m in records
        ]
        target.write_records(records, self._embed(ops), self._dims)
        return len(records)
