"""Memories of the three kinds in the real store, with the real embedder."""

import uuid
from pathlib import Path

from assistant.config import Settings
from assistant.memory.factory import memory_namespace, open_store
from assistant.memory.schemas import (
    EpisodicMemory,
    ProceduralMemory,
    Provenance,
    SemanticMemory,
    from_value,
    utcnow,
)


def test_memories_are_stored_searched_and_validated(tmp_path: Path) -> None:
    settings = Settings.load(data_dir=tmp_path / "data", user_id="alice")
    store = open_store(settings)
    ns = memory_namespace(settings)
    assert ns == ("memories", "alice")
    from_chat = Provenance(source="reflection", thread_id="t1", message_ids=(1, 2))
    memories = {
        "dog": SemanticMemory(
            subject="the user's dog", fact="The user's dog is called Fido.", provenance=from_chat
        ),
        "paris": SemanticMemory(subject="the user", fact="The user lives in Paris."),
        "berlin": SemanticMemory(subject="the user", fact="The user lives in Berlin."),
        "trip": EpisodicMemory(
            situation="The user asked for a trip plan",
            action="A day-by-day table was given",
            outcome="The user found it clear",
            lesson="Plans work best as tables",
        ),
        "metric": ProceduralMemory(rule="Answer in metric units."),
    }
    memories["paris"].invalid_at = utcnow()
    memories["paris"].superseded_by = "berlin"
    ids = {name: uuid.uuid4().hex for name in memories}
    for name, memory in memories.items():
        store.put(ns, ids[name], memory.to_value())

    found = store.search(ns, query="What is my dog called?", limit=1)
    assert from_value(found[0].value) == memories["dog"]
    assert found[0].value["provenance"]["thread_id"] == "t1"

    rules = store.search(ns, filter={"kind": "procedural"})
    assert [from_value(i.value) for i in rules] == [memories["metric"]]

    active = store.search(ns, query="Where does the user live?", filter={"invalid_at": None})
    assert "paris" not in {k for k, v in ids.items() if v in {i.key for i in active}}
    history = store.get(ns, ids["paris"])
    assert history.value["superseded_by"] == "berlin"  # kept in history, not deleted
    store.close()
