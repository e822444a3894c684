"""Concurrent ``abatch`` calls on ``ChromaStore`` are merged into few batches
(issue 18, item 12), each caller getting its own results and its own errors; on
real embedded Chroma with the real embedder."""

import asyncio
from pathlib import Path

import pytest
from langgraph.store.base import InvalidNamespaceError

from assistant.store.batching import Batcher
from assistant.store.chroma import ChromaStore

NS = ("memories", "me", "semantic")


@pytest.fixture
def counted(tmp_path: Path, minilm):
    """A store whose merged batches are counted: ``(store, sizes of its batches)``."""
    index = {"dims": 384, "embed": minilm, "fields": ["text"]}
    store = ChromaStore.persistent(tmp_path / "store", index=index, symmetric=True)
    sizes: list[int] = []

    def batch(ops):
        sizes.append(len(ops))
        return ChromaStore.batch(store, ops)

    store._batcher = Batcher(batch)
    yield store, sizes
    store.close()


def test_concurrent_calls_are_merged_and_each_gets_its_own(counted) -> None:
    store, sizes = counted
    texts = [f"The user's pet number {i} is a {['cat', 'dog', 'owl'][i % 3]}." for i in range(60)]

    async def main():
        await asyncio.gather(*(store.aput(NS, f"k{i}", {"text": t}) for i, t in enumerate(texts)))
        writes = len(sizes)
        got, found = await asyncio.gather(
            asyncio.gather(*(store.aget(NS, f"k{i}") for i in range(60))),
            asyncio.gather(*(store.asearch(NS, query=t, limit=1) for t in texts[:20])),
        )
        return writes, got, found

    writes, got, found = asyncio.run(main())

    assert sum(sizes) == 140 and writes <= 3 and len(sizes) <= 6, sizes  # a handful
    assert [item.value["text"] for item in got] == texts
    assert [hits[0].key for hits in found] == [f"k{i}" for i in range(20)]


def test_a_bad_call_fails_alone(counted) -> None:
    store, _ = counted

    async def main():
        return await asyncio.gather(
            store.aput(NS, "good", {"text": "The user likes tea."}),
            store.aput(NS, "bad", {"when": object()}),  # JSON cannot hold it
            store.aput(("memories", "a.b"), "worse", {"text": "x"}),
            store.aget(NS, "good"),
            return_exceptions=True,
        )

    good, bad, worse, _ = asyncio.run(main())

    assert good is None
    assert isinstance(bad, TypeError) and isinstance(worse, InvalidNamespaceError)
    assert store.get(NS, "good").value == {"text": "The user likes tea."}
    assert store.get(NS, "bad") is None


def test_an_awaited_write_is_seen_by_the_next_read(counted) -> None:
    store, _ = counted

    async def main():
        await store.aput(NS, "k", {"text": "The user lives in Lyon."})
        first = await store.aget(NS, "k")
        await store.adelete(NS, "k")
        return first, await store.aget(NS, "k")

    first, after = asyncio.run(main())
    assert first.value["text"] == "The user lives in Lyon." and after is None


def test_langgraphs_large_batches_shape(counted) -> None:
    store, sizes = counted

    async def main(n=100, m=4):
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
        return await asyncio.gather(*coros)

    results = asyncio.run(main())

    assert len(results) == 2400 and sum(sizes) == 2400 and len(sizes) <= 3, sizes
    assert store.search(("test",)) == []  # the last op of every key deletes it
