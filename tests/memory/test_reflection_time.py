"""Time in reflection: a memory is dated from the message it was made from, and
relative dates are resolved against that message's own time (issue 16)."""

from datetime import UTC, datetime

from assistant.reflection.manager import MemoryManager
from tests.memory.conftest import ScriptedModel, judged

MARCH_10 = datetime(2026, 3, 10, 12, tzinfo=UTC)


def said_on(conversations, when: datetime, text: str) -> str:
    thread = conversations.create_thread()
    conversations.add_message(thread.id, "user", text, created_at=when)
    return thread.id


def reflect(memories, conversations, thread_id: str, memory: dict) -> None:
    model = ScriptedModel(replies=[judged((memory, "create", ""))])
    MemoryManager(model, memories, conversations).reflect(thread_id)


def test_a_trip_last_week_is_dated_the_week_before_the_message(memories, conversations) -> None:
    thread_id = said_on(conversations, MARCH_10, "I went to Rome last week.")
    episode = {
        "kind": "episodic",
        "situation": "The user went to Rome last week.",
        "action": "The user travelled.",
        "outcome": "The user saw Rome.",
        "lesson": "Rome is worth a visit.",
    }
    reflect(memories, conversations, thread_id, episode)

    (trip,) = memories.listing("episodic")
    assert "the week of 2026-03-02" in trip.text
    assert "last week" not in trip.text
    assert trip.memory.valid_from == datetime(2026, 3, 2, tzinfo=UTC)


def test_a_memory_without_a_date_holds_from_when_it_was_said(memories, conversations) -> None:
    thread_id = said_on(conversations, MARCH_10, "I play the cello in an orchestra.")
    reflect(
        memories,
        conversations,
        thread_id,
        {"kind": "semantic", "fact": "The user plays the cello in an orchestra."},
    )

    (cello,) = memories.listing("semantic")
    assert cello.memory.valid_from == MARCH_10
    assert cello.memory.created_at > MARCH_10  # reflected on now, valid since then
