"""The conversation database's side of reflection: cursor, journal, incognito."""

import sqlite3
from pathlib import Path

from assistant.conversations import MIGRATIONS, ConversationStore


def test_a_schema_1_database_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "conversations.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(MIGRATIONS[0] + "; PRAGMA user_version = 1;")
    db.execute(
        "INSERT INTO threads VALUES ('t1', 'Old', '2026-01-01T00:00:00+00:00',"
        " '2026-01-01T00:00:00+00:00', NULL, NULL)"
    )
    db.execute(
        "INSERT INTO messages (thread_id, role, content, created_at)"
        " VALUES ('t1', 'user', 'hello', '2026-01-01T00:00:00+00:00')"
    )
    db.commit()
    db.close()
    store = ConversationStore(path)
    thread = store.get_thread("t1")
    assert (thread.title, thread.reflected_through, thread.incognito) == ("Old", 0, False)
    [message] = store.messages("t1")
    assert (message.content, message.memories_used) == ("hello", ())
    assert [m.content for m in store.unreflected("t1")] == ["hello"]
    store.close()


def test_the_cursor_moves_only_when_a_reflection_is_applied(store: ConversationStore) -> None:
    thread = store.create_thread()
    first = store.add_message(thread.id, "user", "I like dogs.")
    second = store.add_message(thread.id, "assistant", "Nice!")
    store.add_message(thread.id, "assistant", "half a rep", status="cancelled")
    assert [m.id for m in store.unreflected(thread.id)] == [first.id, second.id]

    failed = store.record_reflection(
        thread.id, second.id, operations=None, raw_output="{not json", error="invalid JSON"
    )
    assert failed.status == "failed" and failed.raw_output == "{not json"
    assert store.get_thread(thread.id).reflected_through == 0
    assert store.pending_reflection(thread.id) is None

    pending = store.record_reflection(thread.id, second.id, operations="[]", model_calls=1)
    assert pending is not None and store.pending_reflection(thread.id) == pending
    # A second run on the thread (another process) records nothing while one is pending...
    assert store.record_reflection(thread.id, second.id, operations="[]") is None
    assert store.get_thread(thread.id).reflected_through == 0  # recorded, not applied
    store.finish_reflection(pending.id)
    assert store.pending_reflection(thread.id) is None
    assert store.get_thread(thread.id).reflected_through == second.id
    assert store.unreflected(thread.id) == []
    # ...nor once the messages it read are reflected on.
    assert store.record_reflection(thread.id, second.id, operations="[]") is None
    third = store.add_message(thread.id, "user", "My dog is Fido.")
    assert [m.id for m in store.unreflected(thread.id)] == [third.id]
    assert [r.status for r in store.reflections(thread.id)] == ["failed", "applied"]
    assert store.last_reflection(thread.id).status == "applied"
    assert store.last_reflection("no-such-thread") is None


def test_incognito_and_memories_used(store: ConversationStore) -> None:
    thread = store.create_thread()
    assert store.set_incognito(thread.id, True).incognito
    assert not store.set_incognito(thread.id, False).incognito
    reply = store.add_message(thread.id, "assistant", "Fido!")
    store.set_memories_used(reply.id, ["m1", "m2"])
    assert store.messages(thread.id)[0].memories_used == ("m1", "m2")
