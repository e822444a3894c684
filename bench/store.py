"""Memory store benchmark: ChromaStore against raw chromadb on the same vectors.

For each size (1k, 10k, 100k items in one namespace) it builds two fresh
embedded stores in temporary directories:

- ``ChromaStore`` (assistant.store.chroma) through ``BaseStore.batch`` puts;
- a raw ``chromadb`` collection (cosine space) with ``collection.add``,

with the same random unit vectors (384 dims, as MiniLM's), then times the same
queries on both: ``store.search(ns, query=..., limit=10)`` against
``collection.query(query_embeddings=[v], n_results=10)``. Embedding is taken
out of both: ChromaStore's embedder looks the vectors up in a table, so the
ratio is the store's own overhead. Separately it measures the ONNX MiniLM
embedder: texts per second in batches of 32, and one short text.

With ``--async`` it times concurrent ``abatch`` calls instead (issue 18, item 12)
on two shapes, for ``ChromaStore`` (embedded, calls merged by
``assistant.store.batching``), the same store with the old ``abatch``
(``to_thread(batch)`` per call) and LangGraph's ``InMemoryStore``:

- LangGraph's ``test_large_batches_async`` (its SQL store suites): N=1000 keys,
  M=10 rounds of aput, aget, alist_namespaces, asearch, aput, adelete, 60,000
  operations gathered at once, no index;
- 500 concurrent ``aput`` of a sentence and 500 ``asearch`` by a query, with the
  MiniLM index (embedding included).

Usage: .venv/bin/python bench/store.py [--sizes 1000 10000 100000] [--queries 200]
       .venv/bin/python bench/store.py --async [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings
from langgraph.store.base import BaseStore, Op, PutOp, Result
from langgraph.store.memory import InMemoryStore

from assistant.embeddings import MiniLMEmbeddings
from assistant.store.chroma import ChromaStore

DIMS = 384
NS = ("memories", "me")
BATCH = 500


class TableEmbeddings(Embeddings):
    """Vectors looked up by text: embedding costs nothing, on both sides."""

    name = "table"

    def __init__(self, table: dict[str, list[float]]) -> None:
        self.table = table

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self.table[t] for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.table[text]


def percentiles(samples: list[float]) -> tuple[float, float]:
    """Median and 95th percentile, in milliseconds."""
    ms = sorted(s * 1000 for s in samples)
    return statistics.median(ms), ms[int(0.95 * (len(ms) - 1))]


def unit_vectors(rng: np.random.Generator, n: int) -> np.ndarray:
    vectors = rng.standard_normal((n, DIMS)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def run_size(size: int, queries: int, rng: np.random.Generator) -> dict[str, float]:
    import chromadb
    from chromadb.config import Settings

    vectors = unit_vectors(rng, size)
    query_vectors = unit_vectors(rng, queries)
    texts = [f"memory number {i}" for i in range(size)]
    query_texts = [f"query number {i}" for i in range(queries)]
    table = dict(zip(texts, vectors.tolist(), strict=True))
    table |= dict(zip(query_texts, query_vectors.tolist(), strict=True))
    embed = TableEmbeddings(table)
    values = [{"text": t, "kind": "semantic", "n": i} for i, t in enumerate(texts)]

    with tempfile.TemporaryDirectory() as tmp:
        store = ChromaStore.persistent(
            Path(tmp) / "store", index={"dims": DIMS, "embed": embed, "fields": ["text"]}
        )
        start = time.perf_counter()
        for at in range(0, size, BATCH):
            store.batch([PutOp(NS, f"k{i}", values[i]) for i in range(at, min(at + BATCH, size))])
        ours_put = size / (time.perf_counter() - start)

        client = chromadb.PersistentClient(
            str(Path(tmp) / "raw"), Settings(anonymized_telemetry=False)
        )
        collection = client.create_collection(
            "raw-bench", configuration={"hnsw": {"space": "cosine"}}, embedding_function=None
        )
        start = time.perf_counter()
        for at in range(0, size, BATCH):
            end = min(at + BATCH, size)
            collection.add(
                ids=[f"k{i}" for i in range(at, end)],
                embeddings=vectors[at:end],
                metadatas=[{"value": str(values[i])} for i in range(at, end)],
            )
        raw_put = size / (time.perf_counter() - start)

        # Warm both, then alternate query by query so drift hits both alike.
        store.search(NS, query=query_texts[0], limit=10)
        collection.query(query_embeddings=[query_vectors[0]], n_results=10)
        ours: list[float] = []
        raw: list[float] = []
        for text, vector in zip(query_texts, query_vectors, strict=True):
            start = time.perf_counter()
            store.search(NS, query=text, limit=10)
            ours.append(time.perf_counter() - start)
            start = time.perf_counter()
            collection.query(query_embeddings=[vector], n_results=10)
            raw.append(time.perf_counter() - start)
        store.close()
        client.close()
    (ours_median, ours_p95), (raw_median, raw_p95) = percentiles(ours), percentiles(raw)
    return {
        "size": size,
        "ours_put": ours_put,
        "raw_put": raw_put,
        "ours_median": ours_median,
        "ours_p95": ours_p95,
        "raw_median": raw_median,
        "raw_p95": raw_p95,
    }


def embedding_throughput(rounds: int = 5) -> tuple[float, float]:
    """MiniLM texts per second (batches of 32 memory-like sentences) and ms per short text."""
    embedder = MiniLMEmbeddings()
    sentences = [
        f"The user mentioned on day {i} that their dog Fido likes long walks by the river."
        for i in range(256)
    ]
    embedder.embed_documents(sentences[:32])  # load the model
    rates = []
    for _ in range(rounds):
        start = time.perf_counter()
        embedder.embed_documents(sentences)
        rates.append(len(sentences) / (time.perf_counter() - start))
    singles = []
    for i in range(50):
        start = time.perf_counter()
        embedder.embed_query(f"What is my dog called? ({i})")
        singles.append(time.perf_counter() - start)
    return statistics.median(rates), statistics.median(singles) * 1000


class OneCallAtATime(ChromaStore):
    """ChromaStore with the old ``abatch``: each call its own ``to_thread(batch)``."""

    async def abatch(self, ops: list[Op]) -> list[Result]:  # type: ignore[override]
        return await asyncio.to_thread(self.batch, list(ops))


async def large_batches(store: BaseStore, n: int = 1000, m: int = 10) -> float:
    """Seconds for LangGraph's ``test_large_batches_async`` shape."""
    coros = []
    for r in range(m):
        ns = ("test", "foo", "bar", "baz", str(r % 2))
        for i in range(n):
            coros += [
                store.aput(ns, f"key{i}", value={"foo": "bar" + str(i)}),
                store.aget(ns, f"key{i}"),
                store.alist_namespaces(prefix=None, max_depth=r + 1),
                store.asearch(("test",)),
                store.aput(ns, f"key{i}", value={"foo": "bar" + str(i)}),
                store.adelete(ns, f"key{i}"),
            ]
    start = time.perf_counter()
    results = await asyncio.gather(*coros)
    assert len(results) == n * m * 6
    return time.perf_counter() - start


async def puts_and_searches(store: BaseStore, n: int = 500) -> float:
    """Seconds for n concurrent aput of a sentence and n asearch by a query."""
    coros = []
    for i in range(n):
        text = f"The user mentioned on day {i} that their dog Fido likes walks by river {i % 37}."
        coros.append(store.aput(NS, f"k{i}", {"text": text}))
        coros.append(store.asearch(NS, query=f"Where does the dog walk? ({i})", limit=5))
    start = time.perf_counter()
    await asyncio.gather(*coros)
    return time.perf_counter() - start


def async_shapes(repeat: int) -> None:
    embedder = MiniLMEmbeddings()
    embedder.embed_documents(["warm up"])
    index = {"dims": DIMS, "embed": embedder, "fields": ["text"]}
    makers = {
        "ChromaStore (merged)": lambda d, ix: ChromaStore.persistent(d, index=ix, symmetric=True),
        "ChromaStore, one call at a time": lambda d, ix: OneCallAtATime.persistent(d, index=ix),
        "InMemoryStore": lambda d, ix: InMemoryStore(index=ix) if ix else InMemoryStore(),
    }
    print("| store | large_batches_async (60,000 ops) | 500 aput + 500 asearch (MiniLM) |")
    print("|---|---|---|")
    for label, make in makers.items():
        shapes = []
        for shape, ix in ((large_batches, None), (puts_and_searches, index)):
            if make is makers["ChromaStore, one call at a time"] and shape is large_batches:
                shapes.append("not run (over 1,000 s in issue 18)")
                continue
            times = []
            for _ in range(repeat):
                with tempfile.TemporaryDirectory() as tmp:
                    store = make(Path(tmp) / "store", ix)
                    times.append(asyncio.run(shape(store)))
                    getattr(store, "close", lambda: None)()
            runs = ", ".join(f"{t:.1f}" for t in times)
            shapes.append(f"{statistics.median(times):.2f} s ({runs})")
        print(f"| {label} | {shapes[0]} | {shapes[1]} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--async", dest="concurrent", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(7)
    print(f"python {platform.python_version()}, {platform.machine()}, {platform.platform()}")
    if args.concurrent:
        async_shapes(args.repeat)
        return
    print(
        "| items | put, ChromaStore | put, raw chromadb | search median (p95), ChromaStore "
        "| search median (p95), raw | ratio of medians |"
    )
    print("|---|---|---|---|---|---|")
    for size in args.sizes:
        r = run_size(size, args.queries, rng)
        print(
            f"| {size:,} | {r['ours_put']:,.0f}/s | {r['raw_put']:,.0f}/s "
            f"| {r['ours_median']:.2f} ms ({r['ours_p95']:.2f}) "
            f"| {r['raw_median']:.2f} ms ({r['raw_p95']:.2f}) "
            f"| {r['ours_median'] / r['raw_median']:.2f}x |",
            flush=True,
        )
    rate, single = embedding_throughput()
    print(f"\nMiniLM (ONNX int8): {rate:,.0f} texts/s in batches of 32; {single:.1f} ms per query")


if __name__ == "__main__":
    main()
