"""Foreign data in the user's namespaces (issue 18, item 11): a LangMem memory or
any value this app did not write is skipped with a warning, never fatal, for
listing, paging, search, recall, reflection, consolidation and export; LangMem's
``content`` is embedded, so it ranks. Real Chroma with the real embedder."""

import logging
from pathlib import Path

import pytest

from assistant.memory.catalog import pages
from assistant.memory.consolidation import consolidate
from assistant.memory.editing import remember, search
from assistant.memory.factory import EMBEDDED_FIELDS
from assistant.memory.recall import Recall
from assistant.memory.repository import Memories
from assistant.memory.schemas import SemanticMemory
from assistant.memory.transfer import export_lines, stored_memories
from assistant.reflection.manager import MemoryManager
from assistant.store.chroma import ChromaStore
from tests.memory.conftest import NAMESPACE, ScriptedModel, fact, judged, thread_with

LANGMEM = {"kind": "Memory", "content": {"content": "The user's cat is called Miso."}}


@pytest.fixture
def shared(tmp_path: Path, minilm):
    """A store indexed as the app opens it (``EMBEDDED_FIELDS``), holding a LangMem
    memory, an arbitrary value and a broken memory beside two memories of ours."""
    index = {"dims": 384, "embed": minilm, "fields": EMBEDDED_FIELDS}
    store = ChromaStore.persistent(tmp_path / "memory", index=index, embedder_name=minilm.name)
    memories = Memories(store, NAMESPACE)
    semantic = memories.namespace_of("semantic")
    store.put(semantic, "langmem-1", LANGMEM)
    memories.put("ours-1", SemanticMemory(subject="the user", fact="The user's dog is Fido."))
    store.put(semantic, "other-app", {"note": "a LangGraph app's own item"})
    store.put(memories.namespace_of("procedural"), "broken", {"kind": "procedural", "rule": ""})
    memories.put("ours-2", SemanticMemory(subject="the user", fact="The user lives in Lyon."))
    yield memories
    store.close()


def test_every_read_skips_foreign_items_and_warns_once(shared: Memories, caplog) -> None:
    caplog.set_level(logging.WARNING, logger="assistant.memory.repository")

    listed = [m.key for m in shared.every("semantic", page=1)]  # pages past foreign items
    again = [m.key for m in shared.listing("semantic")]

    assert listed == again == ["ours-1", "ours-2"]
    assert shared.listing("procedural") == []
    assert set(shared.get_many(["langmem-1", "ours-1", "broken"])) == {"ours-1"}
    assert shared.get("langmem-1") is None
    warned = [r.getMessage() for r in caplog.records]
    assert len(warned) == 3, warned  # once per item, however often it is read
    assert any("langmem-1" in w and "a LangMem memory" in w for w in warned)
    assert set(shared.foreign) == {
        (shared.namespace_of("semantic"), "langmem-1"),
        (shared.namespace_of("semantic"), "other-app"),
        (shared.namespace_of("procedural"), "broken"),
    }


def test_langmem_content_is_embedded_and_ranks(shared: Memories) -> None:
    hits = shared.store.search(shared.namespace_of("semantic"), query="What is my cat called?")
    assert hits[0].key == "langmem-1" and hits[0].score is not None and hits[0].score > 0.4
    assert "langmem-1" not in {m.key for m in shared.similar("my cat Miso")}


def test_search_recall_pages_consolidation_and_export_survive(shared: Memories) -> None:
    assert "langmem-1" not in {m.key for m in search(shared, "Miso")}  # and its text scan
    assert next(m.key for m in search(shared, "Fido")) == "ours-1"
    recalled = Recall(shared, min_score=0.0).recall("Where do I live, and my pets?")
    assert set(recalled.keys) == {"ours-1", "ours-2"}
    assert [m.key for page in pages(shared, first=1, page=1) for m in page] == [
        "ours-1",
        "ours-2",
    ]
    assert consolidate(shared).summary == "nothing to do"
    exported = list(export_lines(stored_memories(shared)))
    assert len(exported) == 2 and "Miso" not in "".join(exported)
    assert remember(shared, "My cat is called Miso.").status == "created"


def test_reflection_survives_foreign_items(shared: Memories, conversations) -> None:
    thread_id = thread_with(conversations, "My cat Miso is a tabby.")
    model = ScriptedModel(replies=[judged((fact("The user's cat Miso is a tabby."), "create", ""))])

    result = MemoryManager(model, shared, conversations).reflect(thread_id)

    assert result.status == "applied" and result.summary == "learned 1"
    assert "M1: The user's cat is called Miso." not in model.prompts[0][-1].text
