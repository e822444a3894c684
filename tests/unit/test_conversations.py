import sqlite3
import stat
from pathlib import Path

import pytest

from assistant.conversations import (
    MIGRATIONS,
    UNTITLED,
    ConversationStore,
    title_from_message,
)
from assistant.errors import InputError, StorageError


def test_threads_most_recent_first(store: ConversationStore) -> None:
    first = store.create_thread()
    second = store.create_thread()
    assert [t.id for t in store.list_threads()] == [second.id, first.id]
    store.add_message(first.id, "user", "back to the first")
    assert [t.id for t in store.list_threads()] == [first.id, second.id]


def test_first_user_message_titles_the_thread(store: ConversationStore) -> None:
    thread = store.create_thread()
    assert thread.title == UNTITLED
    store.add_message(thread.id, "user", "  Plan a trip to Lisbon\nin May  ")
    store.add_message(thread.id, "user", "something else")
    assert store.get_thread(thread.id).title == "Plan a trip to Lisbon"


def test_title_is_cut_at_a_word_boundary() -> None:
    title = title_from_message("word " * 30)
    assert len(title) <= 48 and title.endswith("…") and "wor…" not in title
    assert title_from_message("   \n  ") == UNTITLED


def test_rename_and_delete_cascade(store: ConversationStore) -> None:
    thread = store.create_thread()
    store.add_message(thread.id, "user", "hello")
    assert store.rename_thread(thread.id, "  Greetings  ").title == "Greetings"
    with pytest.raises(InputError, match="empty"):
        store.rename_thread(thread.id, "   ")
    store.delete_thread(thread.id)
    assert store.list_threads() == []
    assert store.messages(thread.id) == []


def test_thread_ids_accept_unique_prefixes(store: ConversationStore) -> None:
    thread = store.create_thread()
    assert store.get_thread(thread.id[:6]).id == thread.id
    with pytest.raises(InputError, match="No conversation"):
        store.get_thread("zzzz")
    # Nothing, or LIKE's wildcards, are no prefix of every id (one thread or more).
    for given in ("", "  ", "%", "_", thread.id[:2] + "%"):
        with pytest.raises(InputError, match="No conversation"):
            store.get_thread(given)


def test_messages_keep_order_status_and_model(store: ConversationStore) -> None:
    thread = store.create_thread()
    store.add_message(thread.id, "user", "hi")
    store.add_message(
        thread.id,
        "assistant",
        "par",
        status="cancelled",
        error="Stopped",
        backend="local",
        model="m",
    )
    messages = store.messages(thread.id)
    assert [(m.role, m.content, m.status) for m in messages] == [
        ("user", "hi", "complete"),
        ("assistant", "par", "cancelled"),
    ]
    assert messages[1].model == "m" and messages[1].error == "Stopped"
    assert store.get_thread(thread.id).model == "m"


def test_a_one_megabyte_message_round_trips(store: ConversationStore) -> None:
    thread = store.create_thread()
    big = "x" * 1_000_000
    store.add_message(thread.id, "user", big)
    assert store.messages(thread.id)[0].content == big


def test_a_second_connection_sees_the_writes(store: ConversationStore) -> None:
    thread = store.create_thread()
    store.add_message(thread.id, "user", "persisted")
    other = ConversationStore(store.path)
    assert other.messages(thread.id)[0].content == "persisted"
    other.close()


def test_schema_is_versioned(store: ConversationStore) -> None:
    with sqlite3.connect(store.path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(StorageError, match="newer version"):
        ConversationStore(path)


def test_a_corrupted_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    path.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(StorageError, match=r"damaged.*Move it aside"):
        ConversationStore(path)
    assert path.read_bytes().startswith(b"this is not")  # left as it was


def test_an_unwritable_data_dir_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StorageError, match="--data-dir"):
        ConversationStore(blocker / "sub" / "c.sqlite3")


def test_files_are_private(store: ConversationStore) -> None:
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.path.parent.stat().st_mode) == 0o700


def test_a_full_database_says_so_and_keeps_what_it_had(store: ConversationStore) -> None:
    """SQLite rolls back by itself on a full disk: the error names the real cause
    (not "cannot rollback - no transaction is active") and the store works on."""
    thread = store.create_thread()
    store.add_message(thread.id, "user", "first")
    (pages,) = store._db.execute("PRAGMA page_count").fetchone()
    store._db.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(StorageError) as caught:
        store.add_message(thread.id, "user", "a long message " * 2000)
    assert "full" in str(caught.value) and "rollback" not in str(caught.value)
    store._db.execute("PRAGMA max_page_count = 1073741823")
    store.add_message(thread.id, "user", "second")
    assert [m.content for m in store.messages(thread.id)] == ["first", "second"]
