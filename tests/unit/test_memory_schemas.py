"""The memory schemas: validation, rendering, and the stored value."""

from datetime import datetime

import pytest
from pydantic import ValidationError

from assistant.memory.schemas import (
    EpisodicMemory,
    ProceduralMemory,
    Provenance,
    SemanticMemory,
    from_value,
    utcnow,
)


def test_each_kind_renders_the_text_that_is_embedded() -> None:
    fact = SemanticMemory(subject="the user's dog", fact="The user's dog is called Fido.")
    assert fact.render() == "The user's dog is called Fido."
    episode = EpisodicMemory(
        situation="Asked for a trip plan",
        action="Gave a day-by-day table",
        outcome="The user liked it",
        lesson="Tables work better than prose for plans",
    )
    assert episode.render().startswith("Situation: Asked for a trip plan Action:")
    assert "Lesson: Tables work" in episode.render()
    assert ProceduralMemory(rule="Answer in metric units.").render() == "Answer in metric units."
    scoped = ProceduralMemory(rule="Use grams.", scope="cooking")
    assert scoped.render() == "When the topic is cooking: Use grams."


def test_the_stored_value_round_trips() -> None:
    memory = SemanticMemory(
        subject="the user",
        fact="The user lives in Berlin.",
        confidence=0.9,
        provenance=Provenance(source="reflection", thread_id="abc", message_ids=(3, 4)),
        pinned=True,
    )
    value = memory.to_value()
    assert value["kind"] == "semantic"
    assert value["text"] == "The user lives in Berlin."
    assert value["provenance"] == {
        "source": "reflection",
        "thread_id": "abc",
        "message_ids": [3, 4],
    }
    assert value["invalid_at"] is None and value["superseded_by"] is None
    assert from_value(value) == memory
    assert memory.active


def test_superseded_memories_are_not_active() -> None:
    old = SemanticMemory(subject="the user", fact="The user lives in Paris.")
    old.invalid_at = utcnow()
    old.superseded_by = "new-id"
    assert not old.active
    assert from_value(old.to_value()).superseded_by == "new-id"


@pytest.mark.parametrize(
    "value",
    [
        {"kind": "semantic", "subject": "x", "fact": ""},
        {"kind": "semantic", "subject": "x", "fact": "y" * 2001},
        {"kind": "semantic", "subject": "x", "fact": "y", "confidence": 1.5},
        {"kind": "semantic", "subject": "x", "fact": "y", "colour": "blue"},
        {"kind": "feelings", "text": "y"},
        {"kind": "episodic", "situation": "a", "action": "b"},
        {"kind": "procedural", "rule": "y", "created_at": "2026-01-01T00:00:00"},
        {"kind": "procedural", "rule": "y", "provenance": {"source": "reflection"}},
    ],
    ids=[
        "empty-fact",
        "too-long",
        "confidence",
        "unknown-field",
        "unknown-kind",
        "missing-field",
        "naive-time",
        "reflection-without-thread",
    ],
)
def test_invalid_memories_are_refused(value: dict) -> None:
    with pytest.raises(ValidationError):
        from_value(value)


def test_times_are_utc_aware() -> None:
    memory = ProceduralMemory(rule="Be brief.")
    assert isinstance(memory.created_at, datetime)
    assert memory.created_at.utcoffset().total_seconds() == 0
