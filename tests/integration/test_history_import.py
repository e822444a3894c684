"""`assistant import` and `assistant threads export` through the installed command:
ChatGPT's export and JSON Lines, dates kept, checked whole, idempotent, searchable
and queued for reflection (issue 16)."""

import json
from datetime import UTC, datetime

from assistant.conversations import ConversationStore
from assistant.memory.factory import build_recall, open_memories, open_search_store
from tests.integration.conftest import local_settings, run_cli

MARCH_10 = datetime(2026, 3, 10, 12, tzinfo=UTC).timestamp()


def node(node_id, role, text, parent, children, when=MARCH_10):
    message = None
    if role is not None:
        message = {
            "author": {"role": role},
            "content": {"content_type": "text", "parts": [text]},
            "create_time": when,
        }
    return {"id": node_id, "message": message, "parent": parent, "children": children}


def chatgpt_export() -> str:
    """One conversation with a regenerated reply: the branch shown last is kept."""
    mapping = {
        "root": node("root", None, "", None, ["sys"]),
        "sys": node("sys", "system", "You are ChatGPT.", "root", ["u1"]),
        "u1": node("u1", "user", "I adopted a greyhound called Biscuit.", "sys", ["a1", "a2"]),
        "a1": node("a1", "assistant", "An old answer, regenerated.", "u1", []),
        "a2": node("a2", "assistant", "Lovely! Greyhounds are calm.", "u1", ["u2"], MARCH_10 + 5),
        "u2": node("u2", "user", "He sleeps all day.", "a2", [], MARCH_10 + 60),
    }
    conversation = {
        "title": "Dog adoption",
        "create_time": MARCH_10,
        "conversation_id": "c-123",
        "current_node": "u2",
        "mapping": mapping,
    }
    return json.dumps([conversation])


def messages(data_dir) -> list[tuple[str, str, str, datetime]]:
    store = ConversationStore(data_dir / "conversations.sqlite3")
    try:
        return [
            (t.title, m.role, m.content, m.created_at)
            for t in store.list_threads()
            for m in store.messages(t.id)
        ]
    finally:
        store.close()


def test_a_chatgpt_export_keeps_the_shown_branch_its_title_and_dates(tmp_path) -> None:
    export = tmp_path / "conversations.json"
    export.write_text(chatgpt_export())

    result = run_cli("import", str(export), data_dir=tmp_path / "data")

    assert result.returncode == 0, result.stderr
    assert "3 of 3 messages added, 1 new conversations of 1" in result.stdout
    start = datetime.fromtimestamp(MARCH_10, UTC)
    assert messages(tmp_path / "data") == [
        ("Dog adoption", "user", "I adopted a greyhound called Biscuit.", start),
        ("Dog adoption", "assistant", "Lovely! Greyhounds are calm.", start.replace(second=5)),
        ("Dog adoption", "user", "He sleeps all day.", start.replace(minute=1)),
    ]
    again = run_cli("import", str(export), data_dir=tmp_path / "data")
    assert "nothing new" in again.stdout
    assert len(messages(tmp_path / "data")) == 3


def test_json_lines_round_trip_through_export(tmp_path) -> None:
    lines = [
        {"thread": "t1", "role": "user", "content": "My exam is next Tuesday.",
         "timestamp": "2026-03-10T12:00:00Z"},
        {"thread": "t1", "role": "assistant", "content": "Good luck!",
         "timestamp": "2026-03-10T12:00:03Z"},
        {"thread": "t2", "role": "user", "content": "I play the cello.", "timestamp": 1770000000},
    ]  # fmt: skip
    source = tmp_path / "plain.jsonl"
    source.write_text("".join(json.dumps(line) + "\n" for line in lines))
    first, second = tmp_path / "one", tmp_path / "two"

    assert run_cli("import", str(source), data_dir=first).returncode == 0
    exported = run_cli("threads", "export", data_dir=first)
    assert exported.returncode == 0, exported.stderr
    (tmp_path / "out.jsonl").write_text(exported.stdout)
    assert run_cli("import", str(tmp_path / "out.jsonl"), data_dir=second).returncode == 0

    assert messages(first) == messages(second)
    assert run_cli("threads", "export", data_dir=second).stdout == exported.stdout
    times = sorted(m[3] for m in messages(first))
    assert times[0] == datetime.fromtimestamp(1770000000, UTC)
    assert times[-1] == datetime(2026, 3, 10, 12, 0, 3, tzinfo=UTC)
    # Back into its own data dir: the same conversations, nothing added.
    again = run_cli("import", str(tmp_path / "out.jsonl"), data_dir=first)
    assert "nothing new" in again.stdout


def test_a_malformed_file_names_the_line_and_changes_nothing(tmp_path) -> None:
    good = {"thread": "t", "role": "user", "content": "hi", "timestamp": "2026-01-01T00:00:00Z"}
    source = tmp_path / "bad.jsonl"
    source.write_text(
        json.dumps(good) + "\n" + json.dumps(good) + "\n" + json.dumps({**good, "role": "bot"})
    )
    nested = tmp_path / "nested.json"
    nested.write_text("[" * 100_000 + "]" * 100_000)

    result = run_cli("import", str(source), data_dir=tmp_path / "data")
    deep = run_cli("import", str(nested), data_dir=tmp_path / "data")

    assert result.returncode == 1
    assert result.stderr.startswith("error: Line 3: role:"), result.stderr
    assert "Traceback" not in result.stderr + deep.stderr
    assert deep.returncode == 1 and "nested too deeply" in deep.stderr
    assert messages(tmp_path / "data") == []


def test_imported_conversations_are_searchable_and_queued_for_reflection(tmp_path) -> None:
    export = tmp_path / "conversations.json"
    export.write_text(chatgpt_export())
    data_dir = tmp_path / "data"
    assert run_cli("import", str(export), data_dir=data_dir).returncode == 0

    jobs = run_cli("jobs", "--json", data_dir=data_dir)
    assert [json.loads(line)["title"] for line in jobs.stdout.splitlines()] == ["Dog adoption"]

    settings = local_settings(data_dir)
    memories = open_memories(settings)
    store = ConversationStore(settings.database_path)
    try:
        search = open_search_store(settings, memories)
        recall = build_recall(settings, memories, store, search)
        assert recall.index_new() == 0  # the import indexed them already
        context = recall.recall("What is the name of my dog?")
        assert any("Biscuit" in e.text for e in context.exchanges)
        search.close()
    finally:
        memories.close()
        store.close()


def test_reindex_brings_conversation_search_up_to_date_and_rebuilds_it(tmp_path) -> None:
    export = tmp_path / "conversations.json"
    export.write_text(chatgpt_export())
    data_dir = tmp_path / "data"
    assert run_cli("import", str(export), data_dir=data_dir).returncode == 0

    synced = run_cli("memories", "reindex", data_dir=data_dir)
    rebuilt = run_cli("memories", "reindex", "--force", data_dir=data_dir)

    assert synced.returncode == 0 and rebuilt.returncode == 0, synced.stderr + rebuilt.stderr
    assert "Conversation search: 0 messages indexed." in synced.stdout  # the import did it
    assert "Conversation search: 3 messages indexed." in rebuilt.stdout
