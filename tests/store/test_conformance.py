"""BaseStore semantics, run against ChromaStore and InMemoryStore alike.

Every test holds for both stores: the same operations give the same answers
(search scores aside), which makes ``InMemoryStore`` the reference. Where the
stores differ on purpose, the test says so (see ``assistant.store.chroma``).
"""

import asyncio
from datetime import datetime

import pytest
from langgraph.store.base import (
    BaseStore,
    GetOp,
    InvalidNamespaceError,
    ListNamespacesOp,
    PutOp,
    SearchOp,
)
from langgraph.store.memory import InMemoryStore

from assistant.store.chroma import ChromaStore

NS = ("memories", "alice")


def keys(results: list) -> list[str]:
    return [item.key for item in results]


def test_put_get_round_trip(kv: BaseStore) -> None:
    value = {
        "text": "Fido is a dog",
        "n": 3,
        "f": 1.5,
        "ok": True,
        "none": None,
        "nested": {"list": [1, "two", {"three": 3}]},
        "unicode": "café ☕ 日本",
    }
    kv.put(NS, "fido", value)
    item = kv.get(NS, "fido")
    assert item is not None
    assert (item.namespace, item.key, item.value) == (NS, "fido", value)
    assert isinstance(item.created_at, datetime) and item.created_at.tzinfo is not None
    assert item.updated_at >= item.created_at
    assert kv.get(NS, "nobody") is None
    assert kv.get(("elsewhere",), "fido") is None


def test_put_replaces_and_delete_removes(kv: BaseStore) -> None:
    kv.put(NS, "k", {"text": "first"})
    first = kv.get(NS, "k")
    kv.put(NS, "k", {"text": "second"})
    second = kv.get(NS, "k")
    assert second.value == {"text": "second"}
    assert second.updated_at >= first.updated_at
    kv.delete(NS, "k")
    assert kv.get(NS, "k") is None
    kv.delete(NS, "k")  # deleting what is gone is not an error
    kv.delete(("never", "made"), "k")


def test_created_at_survives_updates_in_chroma(make_store) -> None:
    """A documented difference: InMemoryStore resets created_at on every put."""
    store = make_store()
    if isinstance(store, InMemoryStore):
        pytest.skip("InMemoryStore resets created_at")
    store.put(NS, "k", {"text": "first"})
    created = store.get(NS, "k").created_at
    store.put(NS, "k", {"text": "second"})
    assert store.get(NS, "k").created_at == created


def test_plain_search_order_and_paging(kv: BaseStore) -> None:
    for key in ["b", "a", "c", "e", "d"]:
        kv.put(NS, key, {"text": key})
    assert keys(kv.search(NS)) == ["b", "a", "c", "e", "d"]
    kv.put(NS, "a", {"text": "a again"})  # an update keeps its place
    kv.delete(NS, "c")
    kv.put(NS, "c", {"text": "c again"})  # a new put goes last
    assert keys(kv.search(NS)) == ["b", "a", "e", "d", "c"]
    assert keys(kv.search(NS, limit=2)) == ["b", "a"]
    assert keys(kv.search(NS, limit=2, offset=2)) == ["e", "d"]
    assert keys(kv.search(NS, limit=2, offset=4)) == ["c"]
    assert kv.search(NS, offset=10) == []
    assert all(item.score is None for item in kv.search(NS))


def test_search_prefix_spans_namespaces(kv: BaseStore) -> None:
    kv.put(("memories", "alice"), "1", {"text": "a"})
    kv.put(("memories", "bob"), "2", {"text": "b"})
    kv.put(("memories", "alice", "work"), "3", {"text": "c"})
    kv.put(("docs",), "4", {"text": "d"})
    assert sorted(keys(kv.search(("memories",)))) == ["1", "2", "3"]
    assert sorted(keys(kv.search(("memories", "alice")))) == ["1", "3"]
    assert sorted(keys(kv.search(()))) == ["1", "2", "3", "4"]
    assert kv.search(("memories", "carol")) == []
    found = kv.search(("memories", "bob"))
    assert [(i.namespace, i.key, i.value) for i in found] == [
        (("memories", "bob"), "2", {"text": "b"})
    ]


@pytest.mark.parametrize(
    ("filter", "expected"),
    [
        ({"kind": "semantic"}, ["a", "c"]),
        ({"kind": "semantic", "score": 3}, ["c"]),
        ({"meta": {"source": "user"}}, ["a"]),
        ({"tags": ["x", "y"]}, ["b"]),
        ({"tags": ["x"]}, []),
        ({"score": {"$gt": 1}}, ["b", "c"]),
        ({"score": {"$gte": 2, "$lt": 3}}, ["b"]),
        ({"score": {"$lte": 1}}, ["a"]),
        ({"kind": {"$ne": "semantic"}}, ["b"]),
        ({"kind": {"$eq": "procedural"}}, ["b"]),
        ({"missing": None}, ["a", "b", "c"]),
    ],
)
def test_filters(kv: BaseStore, filter: dict, expected: list[str]) -> None:
    kv.put(NS, "a", {"text": "x", "kind": "semantic", "score": 1, "meta": {"source": "user"}})
    kv.put(NS, "b", {"text": "y", "kind": "procedural", "score": 2.5, "tags": ["x", "y"]})
    kv.put(NS, "c", {"text": "z", "kind": "semantic", "score": 3, "meta": {"source": "ai"}})
    assert keys(kv.search(NS, filter=filter)) == expected
    assert keys(kv.search(NS, filter=filter, limit=1)) == expected[:1]
    assert keys(kv.search(NS, filter=filter, offset=1)) == expected[1:]


def test_unknown_filter_operator_is_refused(kv: BaseStore) -> None:
    kv.put(NS, "a", {"text": "x", "n": 1})
    with pytest.raises(ValueError, match="Unsupported operator"):
        kv.search(NS, filter={"n": {"$regex": "x"}})


FACTS = {
    "dog": "The user's dog is called Fido.",
    "tea": "The user drinks green tea every morning.",
    "metric": "Answer with metric units.",
    "bike": "The user cycles to work in Berlin.",
}


def test_query_ranks_by_similarity(make_store) -> None:
    store, reference = (
        make_store(),
        InMemoryStore(index={"dims": 384, "embed": make_store().embeddings, "fields": ["text"]}),
    )
    for target in (store, reference):
        for key, text in FACTS.items():
            target.put(NS, key, {"text": text})
    found = store.search(NS, query="What is my dog's name?")
    expected = reference.search(NS, query="What is my dog's name?")
    assert keys(found) == keys(expected)
    assert found[0].key == "dog"
    for ours, theirs in zip(found, expected, strict=True):
        assert ours.score == pytest.approx(theirs.score, abs=1e-4)
    assert keys(store.search(NS, query="units of measure", limit=1)) == ["metric"]
    assert (
        keys(store.search(NS, query="What is my dog's name?", limit=2, offset=1))
        == keys(expected)[1:3]
    )


def test_query_with_filter(kv: BaseStore) -> None:
    for key, text in FACTS.items():
        kv.put(NS, key, {"text": text, "kind": "procedural" if key == "metric" else "semantic"})
    found = kv.search(NS, query="my pet dog", filter={"kind": "semantic"})
    assert found[0].key == "dog"
    assert "metric" not in keys(found)
    assert keys(kv.search(NS, query="my pet dog", filter={"kind": "procedural"})) == ["metric"]


def test_unindexed_items_fill_up_after_scored_ones(kv: BaseStore) -> None:
    kv.put(NS, "dog", {"text": FACTS["dog"]})
    kv.put(NS, "raw", {"text": "Fido Fido Fido dog"}, index=False)
    kv.put(NS, "notext", {"other": "no text field"})
    found = kv.search(NS, query="dog called Fido", limit=10)
    assert keys(found) == ["dog", "raw", "notext"]
    assert found[0].score is not None
    assert found[1].score is None and found[2].score is None
    assert keys(kv.search(NS, query="dog called Fido", limit=2)) == ["dog", "raw"]


def test_put_can_choose_fields(kv: BaseStore) -> None:
    kv.put(NS, "a", {"text": "about tea", "title": "Fido the dog"}, index=["title"])
    kv.put(NS, "b", {"text": "Fido the dog"})
    found = kv.search(NS, query="Fido the dog")
    assert {i.key for i in found} == {"a", "b"}
    assert found[0].score == pytest.approx(found[1].score, abs=1e-4)


def test_several_vectors_per_item_pool_by_max(make_store, minilm) -> None:
    store = make_store({"dims": 384, "embed": minilm, "fields": ["title", "notes[*]"]})
    store.put(NS, "trip", {"title": "Trip to Rome", "notes": ["pasta", "my dog Fido came"]})
    store.put(NS, "tea", {"title": "Tea", "notes": ["green", "morning"]})
    found = store.search(NS, query="dog named Fido")
    assert keys(found) == ["trip", "tea"]
    if isinstance(store, InMemoryStore):
        return  # it keeps the vectors of paths an update no longer has
    store.put(NS, "trip", {"title": "Trip to Rome", "notes": ["pasta"]})  # fewer vectors now
    found = store.search(NS, query="dog named Fido")
    assert found[0].score < 0.5
    assert len(found) == 2


def test_without_an_index_query_is_ignored(make_store) -> None:
    store = make_store(None)
    store.put(NS, "a", {"text": "x"})
    store.put(NS, "b", {"text": "y"})
    found = store.search(NS, query="anything")
    assert keys(found) == ["a", "b"]
    assert all(i.score is None for i in found)


def test_list_namespaces(kv: BaseStore) -> None:
    for ns in [
        ("a", "b", "c"),
        ("a", "b", "d"),
        ("a", "x"),
        ("users", "1", "memories"),
        ("users", "2", "memories"),
        ("users", "2", "docs"),
    ]:
        kv.put(ns, "k", {"text": "t"})
    assert kv.list_namespaces() == sorted(kv.list_namespaces())
    assert len(kv.list_namespaces()) == 6
    assert kv.list_namespaces(prefix=("a", "b")) == [("a", "b", "c"), ("a", "b", "d")]
    assert kv.list_namespaces(suffix=("memories",)) == [
        ("users", "1", "memories"),
        ("users", "2", "memories"),
    ]
    assert kv.list_namespaces(prefix=("users", "*", "memories")) == [
        ("users", "1", "memories"),
        ("users", "2", "memories"),
    ]
    assert kv.list_namespaces(prefix=("a",), max_depth=2) == [("a", "b"), ("a", "x")]
    assert kv.list_namespaces(max_depth=1) == [("a",), ("users",)]
    assert kv.list_namespaces(limit=2, offset=1) == [("a", "b", "d"), ("a", "x")]
    assert kv.list_namespaces(prefix=("nope",)) == []


def test_batch_reads_see_the_state_before_its_writes(kv: BaseStore) -> None:
    kv.put(NS, "k", {"text": "old"})
    results = kv.batch(
        [
            PutOp(NS, "k", {"text": "new"}),
            GetOp(NS, "k"),
            PutOp(NS, "k", {"text": "newest"}),
            SearchOp(NS),
            ListNamespacesOp(),
            PutOp(NS, "gone", None),
        ]
    )
    assert results[0] is None and results[2] is None and results[5] is None
    assert results[1].value == {"text": "old"}
    assert [i.value for i in results[3]] == [{"text": "old"}]
    assert results[4] == [NS]
    assert kv.get(NS, "k").value == {"text": "newest"}


def test_async_api(kv: BaseStore) -> None:
    async def scenario() -> None:
        await kv.aput(NS, "dog", {"text": FACTS["dog"]})
        await kv.aput(NS, "tea", {"text": FACTS["tea"]})
        assert (await kv.aget(NS, "dog")).value == {"text": FACTS["dog"]}
        found = await kv.asearch(NS, query="my dog")
        assert found[0].key == "dog"
        assert await kv.alist_namespaces() == [NS]
        await kv.adelete(NS, "dog")
        assert await kv.aget(NS, "dog") is None

    asyncio.run(scenario())


@pytest.mark.parametrize(
    "namespace",
    [(), ("a.b",), ("memories", ""), ("langgraph", "x"), ("ok", 3)],
    ids=["empty", "period", "empty-label", "langgraph-root", "not-a-string"],
)
def test_bad_namespaces_are_refused(kv: BaseStore, namespace: tuple) -> None:
    with pytest.raises(InvalidNamespaceError):
        kv.put(namespace, "k", {"text": "t"})


def test_period_in_a_label_is_refused_in_raw_batches(kv: BaseStore) -> None:
    if isinstance(kv, InMemoryStore):
        pytest.skip("InMemoryStore does not check ops passed to batch() directly")
    with pytest.raises(InvalidNamespaceError):
        kv.batch([PutOp(("a.b",), "k", {"text": "t"})])


def test_ttl_is_not_supported(kv: BaseStore) -> None:
    with pytest.raises(NotImplementedError):
        kv.put(NS, "k", {"text": "t"}, ttl=5)


def test_non_json_values_are_refused_and_nothing_is_written(make_store) -> None:
    """As LangGraph's SQL stores (json.dumps raises TypeError); InMemoryStore keeps
    Python objects as they are, so this holds for ChromaStore alone."""
    store = make_store()
    if isinstance(store, InMemoryStore):
        pytest.skip("InMemoryStore stores any Python object")
    store.put(NS, "k", {"text": "kept"})
    with pytest.raises(TypeError):
        store.batch([PutOp(NS, "other", {"text": "fine"}), PutOp(NS, "k", {"when": object()})])
    with pytest.raises(ValueError):
        store.put(NS, "k", {"n": float("nan")})
    assert store.get(NS, "k").value == {"text": "kept"}
    assert store.get(NS, "other") is None


def test_a_one_megabyte_value_round_trips(kv: BaseStore) -> None:
    big = {"text": "short text to embed", "blob": "x" * 1_000_000}
    kv.put(NS, "big", big)
    assert kv.get(NS, "big").value == big
    assert kv.search(NS, query="short text")[0].value == big


def test_chroma_refuses_a_store_name_it_cannot_use(tmp_path) -> None:
    with pytest.raises(ValueError, match="store name"):
        ChromaStore.persistent(tmp_path / "x", name="a b")
