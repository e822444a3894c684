"""Reviewing what reflections changed, undoing it, editing by hand with a
conflict check, and the catalog the memory pane browses. Real Chroma and
MiniLM, real journal; the reflection model is scripted."""

import pytest

from assistant.errors import InputError
from assistant.memory.catalog import MemoryCatalog, pages, source_label
from assistant.memory.editing import EditConflict, create, edit, search
from assistant.memory.repository import Memories, StoredMemory, new_key
from assistant.memory.schemas import ProceduralMemory, SemanticMemory, content_fields
from assistant.reflection.review import linked, recent_changes, state, undo
from tests.memory.conftest import ScriptedModel, fact, judged, thread_with
from tests.memory.test_reflection import manager


def known(memories: Memories, text: str) -> str:
    key = new_key()
    memories.put(key, SemanticMemory(subject="the user", fact=text))
    return key


def active(memories: Memories) -> list[str]:
    return sorted(m.text for m in memories.listing("semantic") if m.memory.active)


def test_changes_are_listed_newest_first_and_undone_as_one(memories, conversations) -> None:
    old_key = known(memories, "The user lives in Rome.")
    first = thread_with(conversations, "My dog's name is Fido.")
    model = ScriptedModel(replies=[judged((fact("The user's dog is called Fido."), "create", ""))])
    manager(model, memories, conversations).reflect(first)
    second = thread_with(conversations, "I moved to Berlin.")
    model = ScriptedModel(replies=[judged((fact("The user lives in Berlin."), "supersede", "M1"))])
    manager(model, memories, conversations).reflect(second)

    changes = recent_changes(conversations)
    assert [(c.verb, c.thread_id) for c in changes] == [
        ("replaced", second),
        ("learned", second),
        ("learned", first),
    ]
    assert [state(c.change, memories.get(c.change.key)) for c in changes] == ["current"] * 3

    # Undoing the new fact undoes the supersede with it: Rome is back, Berlin gone.
    berlin = changes[1]
    assert {c.change.key for c in linked(berlin, changes)} == {berlin.change.key, old_key}
    assert undo(memories, [c.change for c in linked(berlin, changes)]) == 2
    assert active(memories) == ["The user lives in Rome.", "The user's dog is called Fido."]
    assert memories.get(berlin.change.key) is None
    assert [state(c.change, memories.get(c.change.key)) for c in changes[:2]] == ["undone"] * 2

    # Undoing again writes nothing and says why.
    with pytest.raises(InputError, match="undone already"):
        undo(memories, [c.change for c in linked(changes[0], changes)])


def test_a_memory_changed_since_is_not_undone(memories, conversations) -> None:
    thread_id = thread_with(conversations, "My dog's name is Fido.")
    model = ScriptedModel(replies=[judged((fact("The user's dog is called Fido."), "create", ""))])
    manager(model, memories, conversations).reflect(thread_id)
    [change] = recent_changes(conversations)
    edit(memories, change.change.key, {"fact": "The user's dog is called Rex."})

    assert state(change.change, memories.get(change.change.key)) == "changed since"
    with pytest.raises(InputError, match="changed since"):
        undo(memories, [change.change])
    assert active(memories) == ["The user's dog is called Rex."]


def test_create_validates_by_the_schema_and_writes_nothing_when_invalid(memories) -> None:
    assert content_fields("semantic") == ("subject", "fact", "confidence")
    assert content_fields("episodic") == ("situation", "action", "outcome", "lesson")
    assert content_fields("procedural") == ("rule", "scope")
    with pytest.raises(InputError, match="fact: String should have at least 1 character"):
        create(memories, "semantic", {"subject": "the user", "fact": ""})
    with pytest.raises(InputError, match="confidence"):
        create(memories, "semantic", {"subject": "x", "fact": "y", "confidence": "very"})
    with pytest.raises(InputError, match="rule"):
        create(memories, "procedural", {"scope": "always"})
    assert memories.listing("semantic") == [] and memories.listing("procedural") == []

    saved = create(memories, "procedural", {"rule": "Answer in metric units.", "pinned": True})
    stored = memories.get(saved.key)
    assert stored is not None and stored.memory.pinned
    assert stored.memory.provenance.source == "user"


def test_an_edit_of_a_stale_version_is_refused(memories) -> None:
    key = known(memories, "The user's dog is called Fido.")
    opened = memories.get(key)
    assert opened is not None
    edit(memories, key, {"fact": "The user's dog is called Rex."})  # in the background

    with pytest.raises(EditConflict) as caught:
        edit(memories, key, {"pinned": True}, expected=opened.memory.updated_at)
    assert caught.value.current.text == "The user's dog is called Rex."
    assert not memories.get(key).memory.pinned  # nothing written
    saved = edit(memories, key, {"pinned": True}, expected=caught.value.current.memory.updated_at)
    assert saved.memory.pinned


def test_the_catalog_filters_sorts_and_keeps_history(memories, conversations) -> None:
    old_key = known(memories, "The user lives in Rome.")
    known(memories, "Zebras are the user's favourite animal.")
    create(memories, "procedural", {"rule": "Answer briefly."})
    thread_id = thread_with(conversations, "I moved to Berlin.")
    model = ScriptedModel(replies=[judged((fact("The user lives in Berlin."), "supersede", "M1"))])
    manager(model, memories, conversations).reflect(thread_id)

    titles = {t.id: t.title for t in conversations.list_threads()}
    catalog = MemoryCatalog(titles)
    read = list(pages(memories, first=1, page=2))
    assert [len(p) for p in read] == [1, 2, 1]  # semantic 1 + 2, procedural 1
    for page in read:
        catalog.add(page)
    assert len(catalog) == 4

    newest = catalog.view()
    assert newest[0].text == "The user lives in Berlin." and len(newest) == 3
    assert [s.text for s in catalog.view(kind="procedural")] == ["Answer briefly."]
    by_text = [s.text for s in catalog.view(kind="semantic", sort="text", descending=False)]
    assert by_text == [
        "The user lives in Berlin.",
        "Zebras are the user's favourite animal.",
    ]
    assert len(catalog.view(history=True)) == 4
    berlin = newest[0]
    newer, older = catalog.history_of(berlin.key)
    assert newer is None and [s.key for s in older] == [old_key]
    assert catalog.history_of(old_key)[0] == berlin
    assert catalog.source(berlin) == f"chat · {titles[thread_id]}"
    assert source_label(catalog.get(old_key).memory, titles) == "you"


def test_search_scans_the_given_candidates_for_words_embeddings_miss(memories) -> None:
    known(memories, "The user likes tea.")
    loaded = StoredMemory("k1", SemanticMemory(subject="locker", fact="The locker code is 4471."))
    found = search(memories, "4471", candidates=[loaded])
    # "The user likes tea." is under search_min_score for "4471": not listed.
    assert [s.text for s in found] == ["The locker code is 4471."]
    assert search(memories, "4471", candidates=[]) == []


def test_memories_are_read_by_key_whatever_their_kind(memories) -> None:
    memories.put("f1", SemanticMemory(subject="the user", fact="The user lives in Lyon."))
    memories.put("r1", ProceduralMemory(rule="Answer in metric units."))
    found = memories.get_many(["r1", "nope", "f1", "r1"])
    assert {key: stored.kind for key, stored in found.items()} == {
        "r1": "procedural",
        "f1": "semantic",
    }
    assert memories.get("nope") is None and memories.get("f1").text == "The user lives in Lyon."
    assert memories.delete(["f1", "nope"]) == 1 and memories.get_many(["f1"]) == {}
