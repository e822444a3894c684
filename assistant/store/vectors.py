"""The vectors of a batch's texts: queries embedded together, and kept a while.

A batch of searches used to embed each query alone (one ONNX run each, about
3.5 ms for MiniLM against 1.5 ms a text in a batch of 32). With a *symmetric*
embedder, one whose ``embed_query(t)`` equals ``embed_documents([t])[0]`` (MiniLM;
langchain-ollama's embeddings), the distinct queries of a batch are embedded in
one ``embed_documents`` call, and the vectors of recent queries are kept (least
recently used first out) so that a put of the same text (an import looks for a
twin of each memory, then writes it) is not embedded twice.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

from langchain_core.embeddings import Embeddings

#: Query vectors kept for later puts of the same text (384 floats each: ~3 MB).
CACHE_SIZE = 1024


class Vectors:
    """Embeds texts for one store, batching queries when the embedder allows.

    Args:
        embeddings: the store's LangChain ``Embeddings``.
        symmetric: whether queries and documents embed alike (see the module).
        cache_size: how many query vectors are kept for later puts.
    """

    def __init__(
        self, embeddings: Embeddings, *, symmetric: bool, cache_size: int = CACHE_SIZE
    ) -> None:
        self.embeddings = embeddings
        self.symmetric = symmetric
        self._size = cache_size
        self._kept: OrderedDict[str, list[float]] = OrderedDict()

    def queries(self, texts: Iterable[str]) -> dict[str, list[float]]:
        """The vector of each distinct query, by text."""
        wanted = list(dict.fromkeys(texts))
        if not self.symmetric:
            return {t: self.embeddings.embed_query(t) for t in wanted}
        found = {t: v for t in wanted if (v := self._kept.get(t)) is not None}
        missing = [t for t in wanted if t not in found]
        if missing:
            for text, vector in zip(missing, self.embeddings.embed_documents(missing), strict=True):
                found[text] = vector
                self._keep(text, vector)
        return found

    def documents(self, texts: list[str]) -> list[list[float]]:
        """The vectors of ``texts`` in order, in one embedder call for those not kept."""
        if not texts:
            return []
        kept = {t: v for t in texts if (v := self._kept.get(t)) is not None}
        missing = list(dict.fromkeys(t for t in texts if t not in kept))
        if missing:
            kept.update(zip(missing, self.embeddings.embed_documents(missing), strict=True))
        return [kept[t] for t in texts]

    def _keep(self, text: str, vector: list[float]) -> None:
        self._kept[text] = vector
        self._kept.move_to_end(text)
        while len(self._kept) > self._size:
            self._kept.popitem(last=False)

    def clear(self) -> None:
        """Forget the kept vectors (the embedder changed)."""
        self._kept.clear()
