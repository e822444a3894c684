"""Memory integrity (issue 18, item 13), with a scripted model that misreads, on
real Chroma: other people's facts and reported speech never become the user's,
a negation never becomes its opposite, a changed fact typed by hand supersedes
(history kept), and a recovered reflection reports what it wrote."""

import json

import pytest

from assistant.conversations import ConversationStore
from assistant.memory.editing import remember
from assistant.memory.repository import Memories
from assistant.reflection.manager import MemoryManager
from tests.memory.conftest import ScriptedModel, fact, judged, thread_with


def reflect(memories: Memories, conversations: ConversationStore, said: str, *replies: str):
    thread_id = thread_with(conversations, said)
    model = ScriptedModel(replies=list(replies))
    result = MemoryManager(model, memories, conversations).reflect(thread_id)
    record = conversations.reflections(thread_id)[-1]
    return result, json.loads(record.operations or "{}")["dropped"]


def facts(memories: Memories) -> list[str]:
    return sorted(s.text for s in memories.listing("semantic") if s.memory.active)


@pytest.mark.parametrize(
    ("said", "misread", "who"),
    [
        ("My friend said: I am a pilot.", "The user is a pilot.", "friend"),
        ("My friend said: I am a pilot.", "I am a pilot.", "friend"),
        ("My brother is a pilot.", "The user is a pilot.", "brother"),
        ("My boss told me he lives in Paris.", "The user lives in Paris.", "boss"),
    ],
)
def test_someone_elses_fact_never_becomes_the_users(
    memories, conversations, said: str, misread: str, who: str
) -> None:
    result, dropped = reflect(memories, conversations, said, judged((fact(misread), "create", "")))

    assert any("about someone else" in d["reason"] and who in d["reason"] for d in dropped)
    kept = facts(memories)
    assert "The user is a pilot." not in kept and "The user lives in Paris." not in kept
    assert all(who in text for text in kept), kept  # at most their words, quoted
    assert result.status == "applied"


def test_the_relations_fact_is_kept(memories, conversations) -> None:
    reflect(
        memories,
        conversations,
        "My brother is a pilot.",
        judged((fact("The user's brother is a pilot."), "create", "")),
    )
    assert facts(memories) == ["The user's brother is a pilot."]


def test_a_negation_never_becomes_its_opposite(memories, conversations) -> None:
    _result, dropped = reflect(
        memories,
        conversations,
        "I am not a smoker.",
        judged((fact("The user is a smoker."), "create", "")),
    )

    assert "The user is a smoker." not in facts(memories)
    assert next(d["reason"] for d in dropped).startswith("says the opposite of the sentence")
    _kept, _ = reflect(
        memories,
        conversations,
        "I am not a smoker, but I love cigars.",
        judged((fact("The user is not a smoker."), "create", "")),
    )
    assert "The user is not a smoker." in facts(memories)


def test_a_changed_fact_typed_by_hand_supersedes(memories) -> None:
    first = remember(memories, "fact: I have a dentist appointment on Monday")
    second = remember(memories, "fact: I have a dentist appointment on Friday")

    assert first.status == "created" and second.status == "created"
    assert second.replaced is not None and second.replaced.key == first.key
    old = memories.get(first.key).memory
    assert old.superseded_by == second.key and old.invalid_at is not None  # history
    assert facts(memories) == ['The user said: "I have a dentist appointment on Friday."']
    again = remember(memories, "fact: I have a dentist appointment on Friday.")
    assert again.status == "known" and again.key == second.key


def test_a_recovered_reflection_reports_what_it_wrote(
    memories, conversations, monkeypatch: pytest.MonkeyPatch
) -> None:
    thread_id = thread_with(conversations, "I play the cello.")
    model = ScriptedModel(replies=[judged((fact("The user plays the cello."), "create", ""))])
    crashing = MemoryManager(model, memories, conversations)

    def crash(changes) -> None:
        raise KeyboardInterrupt("killed before the store was written")

    monkeypatch.setattr(crashing, "apply", crash)
    with pytest.raises(KeyboardInterrupt):
        crashing.reflect(thread_id)
    assert facts(memories) == []

    again = MemoryManager(ScriptedModel(replies=[]), memories, conversations).reflect(thread_id)

    assert again.recovered and again.status == "applied"
    assert again.summary == "learned 1"
    assert [c.text for c in again.changes] == ["The user plays the cello."]
    assert facts(memories) == ["The user plays the cello."]


def test_a_name_is_kept_from_a_negated_sentence(memories, conversations) -> None:
    reflect(
        memories,
        conversations,
        "Sadly my sister Ana isn't coming to the party.",
        judged((None, "none", "")),
    )
    assert "The user's sister is Ana." in facts(memories)
