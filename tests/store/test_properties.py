"""Random operation sequences: ChromaStore against InMemoryStore as the oracle.

Where InMemoryStore has a documented quirk (see ``assistant.store.chroma``) the
comparison states it: it lists namespaces that were emptied or only read, and
keeps the vectors of an item put again with ``index=False``.
"""

import itertools
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.embeddings import DeterministicFakeEmbedding
from langgraph.store.memory import InMemoryStore

from assistant.store.chroma import ChromaStore

NAMESPACES = [("a",), ("a", "b"), ("a", "c"), ("d",)]
PREFIXES = [(), ("a",), ("a", "b"), ("d",), ("x",)]
KEYS = ["k0", "k1", "k2", "k3"]
TEXTS = ["dogs and cats", "green tea", "metric units", "Berlin by bike", "Fido the dog"]
EMBED = DeterministicFakeEmbedding(size=16)
INDEX = {"dims": 16, "embed": EMBED, "fields": ["text"]}

values = st.fixed_dictionaries(
    {"text": st.sampled_from(TEXTS), "n": st.integers(0, 3)},
    optional={"tag": st.sampled_from(["x", "y"])},
)
filters = st.one_of(
    st.none(),
    st.fixed_dictionaries({"tag": st.sampled_from(["x", "y"])}),
    st.fixed_dictionaries({"n": st.fixed_dictionaries({"$gte": st.integers(0, 3)})}),
)
operations = st.lists(
    st.one_of(
        st.tuples(
            st.just("put"),
            st.sampled_from(NAMESPACES),
            st.sampled_from(KEYS),
            values,
            st.sampled_from([None, False]),
        ),
        st.tuples(st.just("delete"), st.sampled_from(NAMESPACES), st.sampled_from(KEYS)),
        st.tuples(st.just("get"), st.sampled_from(NAMESPACES), st.sampled_from(KEYS)),
        st.tuples(
            st.just("search"),
            st.sampled_from(NAMESPACES),
            filters,
            st.integers(0, 5),
            st.integers(0, 3),
        ),
        st.tuples(st.just("search_all"), st.sampled_from(PREFIXES), filters),
        st.tuples(st.just("query"), st.sampled_from(PREFIXES), st.sampled_from(TEXTS), filters),
        st.tuples(st.just("namespaces"), st.sampled_from(PREFIXES), st.sampled_from([None, 1])),
    ),
    max_size=25,
)

_dirs = itertools.count()


def plain(items: list) -> list[tuple]:
    return [(tuple(i.namespace), i.key, i.value) for i in items]


def compare_ranked(ours: list, theirs: list) -> None:
    """Same items, same score sequence; items whose score is unique in the same place."""
    assert sorted(plain(ours)) == sorted(plain(theirs))
    assert [i.score is None for i in ours] == [i.score is None for i in theirs]
    for mine, ref in zip(ours, theirs, strict=True):
        if mine.score is not None:
            assert mine.score == pytest.approx(ref.score, abs=1e-4)
    scores = [i.score for i in theirs if i.score is not None]
    for position, ref in enumerate(theirs):
        unique = ref.score is not None and sum(abs(s - ref.score) < 1e-4 for s in scores) == 1
        if unique:
            assert (ours[position].namespace, ours[position].key) == (ref.namespace, ref.key)


def seen(oracle: InMemoryStore, namespace: tuple[str, ...]) -> bool:
    """Whether the oracle has the namespace. Its quirk: a get or a delete in a
    namespace it has never seen creates it (a defaultdict), which fixes where that
    namespace's items come in a search across namespaces; ours creates none."""
    return tuple(namespace) in oracle._data


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(operations)
def test_random_operations_match_in_memory_store(tmp_path: Path, ops: list[tuple]) -> None:
    store = ChromaStore.persistent(tmp_path / f"s{next(_dirs)}", index=INDEX)
    oracle = InMemoryStore(index=INDEX)
    try:
        for op in ops:
            name = op[0]
            if name == "put":
                _, ns, key, value, index = op
                store.put(ns, key, value, index=index)
                if index is False:  # oracle quirk: it would keep the old vectors
                    oracle._vectors[ns].pop(key, None)
                oracle.put(ns, key, value, index=index)
            elif name == "delete":
                store.delete(op[1], op[2])
                if seen(oracle, op[1]):
                    oracle.delete(op[1], op[2])
            elif name == "get":
                theirs = oracle.get(op[1], op[2]) if seen(oracle, op[1]) else None
                ours = store.get(op[1], op[2])
                assert (ours and ours.value) == (theirs and theirs.value)
            elif name == "search":  # one namespace: the order is the same
                _, ns, filter, limit, offset = op
                ours = store.search(ns, filter=filter, limit=limit, offset=offset)
                theirs = oracle.search(ns, filter=filter, limit=limit, offset=offset)
                assert [(i.namespace, i.key, i.value) for i in ours] == plain(theirs)
            elif name == "search_all":  # several namespaces: each in its order
                _, prefix, filter = op
                ours = plain(store.search(prefix, filter=filter, limit=100))
                theirs = plain(oracle.search(prefix, filter=filter, limit=100))
                assert sorted(ours) == sorted(theirs)
                for ns in NAMESPACES:
                    assert [x for x in ours if x[0] == ns] == [x for x in theirs if x[0] == ns]
            elif name == "query":
                _, prefix, query, filter = op
                compare_ranked(
                    store.search(prefix, query=query, filter=filter, limit=100),
                    oracle.search(prefix, query=query, filter=filter, limit=100),
                )
            elif name == "namespaces":
                _, prefix, depth = op
                holding = {tuple(i.namespace) for i in oracle.search((), limit=1000)}
                expected = [ns for ns in oracle.list_namespaces(prefix=prefix) if ns in holding]
                if depth is not None:
                    expected = sorted({ns[:depth] for ns in expected})
                assert store.list_namespaces(prefix=prefix, max_depth=depth) == expected
        # The end state, read back in full.
        ours, theirs = plain(store.search((), limit=1000)), plain(oracle.search((), limit=1000))
        assert sorted(ours) == sorted(theirs)
    finally:
        store.close()
