"""`assistant memories ...`: list, search, show, add, edit, rm, pin, mute, export and
import, in process through Typer's runner, on real Chroma with the real embedder;
one round trip runs the installed command."""

import json
from datetime import timedelta
from pathlib import Path

from typer.testing import CliRunner

from assistant.cli.app import cli
from assistant.errors import InputError
from assistant.memory.factory import open_memories
from assistant.memory.repository import Memories
from assistant.memory.schemas import (
    EpisodicMemory,
    ProceduralMemory,
    Provenance,
    SemanticMemory,
    utcnow,
)
from tests.integration.conftest import local_settings, run_cli


def invoke(data_dir: Path, *args: str, stdin: str | None = None):
    return CliRunner().invoke(cli, ["--data-dir", str(data_dir), "memories", *args], input=stdin)


def fill(data_dir: Path) -> dict[str, str]:
    """One memory of each kind, a pinned one, and a fact with its superseded past."""
    memories = open_memories(local_settings(data_dir))
    when = utcnow() - timedelta(days=3)
    from_chat = Provenance(source="reflection", thread_id="t1", message_ids=(4, 5))
    keys = {
        "dog": SemanticMemory(subject="the user", fact="The user's dog is called Fido."),
        "boston": SemanticMemory(
            subject="the user",
            fact="The user lives in Boston.",
            provenance=from_chat,
            created_at=when,
            invalid_at=utcnow(),
            superseded_by="denver",
        ),
        "denver": SemanticMemory(subject="the user", fact="The user lives in Denver."),
        "brief": ProceduralMemory(rule="Answer briefly.", pinned=True),
        "trip": EpisodicMemory(
            situation="The user planned a trip to Rome.",
            action="The assistant listed museums.",
            outcome="The user wanted food tips instead.",
            lesson="Ask what kind of tips are wanted.",
        ),
    }
    for key, memory in keys.items():
        memories.put(key, memory)
    memories.close()
    return {key: key for key in keys}


def read_all(data_dir: Path) -> dict[str, dict]:
    memories = open_memories(local_settings(data_dir))
    try:
        kinds = ("semantic", "episodic", "procedural")
        return {m.key: m.memory.to_value() for k in kinds for m in memories.every(k)}
    finally:
        memories.close()


def test_export_then_import_into_an_empty_data_dir_gives_the_same_memories(tmp_path) -> None:
    source, target = tmp_path / "a", tmp_path / "b"
    fill(source)
    exported = run_cli("memories", "export", str(tmp_path / "out.jsonl"), data_dir=source)
    assert exported.returncode == 0, exported.stderr
    assert "Exported 5 memories" in exported.stderr

    imported = run_cli("memories", "import", str(tmp_path / "out.jsonl"), data_dir=target)

    assert imported.returncode == 0, imported.stderr
    assert "added 5, merged 0, unchanged 0" in imported.stdout
    assert read_all(target) == read_all(source)
    again = invoke(target, "import", str(tmp_path / "out.jsonl"))
    assert "added 0, merged 0, unchanged 5" in again.output
    assert read_all(target) == read_all(source)


def test_a_malformed_import_changes_nothing_and_names_the_line(data_dir, tmp_path) -> None:
    fill(data_dir)
    before = read_all(data_dir)
    good = json.dumps({"kind": "semantic", "subject": "the user", "fact": "The user is tall."})
    cases = {
        "not JSON": f"{good}\n{{oops\n",
        "not a valid memory": f"{good}\n\n{json.dumps({'kind': 'semantic', 'fact': ''})}\n",
        "not a JSON object": f"{good}\n[1, 2]\n",
    }
    for problem, text in cases.items():
        path = tmp_path / "bad.jsonl"
        path.write_text(text)
        result = invoke(data_dir, "import", str(path))
        assert isinstance(result.exception, InputError), result.output
        line = 3 if problem == "not a valid memory" else 2
        assert f"Line {line} is {problem}" in str(result.exception)
        assert "nothing imported" in str(result.exception)
        assert read_all(data_dir) == before


def test_an_import_merges_duplicates(data_dir, tmp_path) -> None:
    fill(data_dir)
    lines = [
        {"kind": "semantic", "subject": "the user", "fact": "The user's dog is named Fido."},
        {"kind": "semantic", "subject": "the user", "fact": "The user's dog is named Fido."},
        {"kind": "procedural", "rule": "Use metric units."},
    ]
    path = tmp_path / "more.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines))

    result = invoke(data_dir, "import", str(path))

    assert "added 1, merged 1, unchanged 1" in result.output, result.output
    after = read_all(data_dir)
    assert after["dog"]["text"] == "The user's dog is named Fido."  # the twin was updated
    assert len(after) == 6


def test_list_search_show(data_dir) -> None:
    fill(data_dir)
    listed = invoke(data_dir, "list").output.splitlines()
    assert len(listed) == 4  # history is left out
    assert any(line.startswith("brief") and " P " in line for line in listed)
    history = invoke(data_dir, "list", "--history", "--kind", "semantic").output
    assert "old" in history and "Boston" in history and "Answer" not in history
    rows = [json.loads(line) for line in invoke(data_dir, "list", "--json").output.splitlines()]
    assert {row["id"] for row in rows} == {"dog", "denver", "brief", "trip"}

    found = invoke(data_dir, "search", "pet animal").output.splitlines()
    assert "Fido" in found[0]
    assert "Rome" in invoke(data_dir, "search", "Rome").output  # the words themselves first

    shown = invoke(data_dir, "show", "denver").output
    assert "fact: The user lives in Denver." in shown
    assert "supersedes: The user lives in Boston." in shown
    old = invoke(data_dir, "show", "bost").output  # the start of an id is enough
    assert "superseded by: The user lives in Denver." in old and "conversation: t1" in old
    missing = invoke(data_dir, "show", "nope")
    assert isinstance(missing.exception, InputError)


def test_add_edit_pin_mute_rm(data_dir) -> None:
    fill(data_dir)
    added = invoke(data_dir, "add", "rule: never use emoji")
    assert added.output.startswith("Remembered (procedural): Never use emoji.")

    edited = invoke(data_dir, "edit", "dog", "--set", "fact=The user's dog is called Rex.")
    assert "Rex" in edited.output
    before = read_all(data_dir)
    for bad in (["--set", "fact="], ["--set", "rule=x"], ["--set", "kind=episodic"]):
        refused = invoke(data_dir, "edit", "dog", *bad)
        assert isinstance(refused.exception, InputError), refused.output
        assert read_all(data_dir) == before  # nothing saved
    assert "at least 1 character" in str(
        invoke(data_dir, "edit", "dog", "--set", "fact=").exception
    )

    assert " P " in invoke(data_dir, "pin", "dog").output
    assert " M " in invoke(data_dir, "mute", "trip").output
    assert read_all(data_dir)["dog"]["pinned"] and read_all(data_dir)["trip"]["muted"]
    invoke(data_dir, "pin", "dog", "--off")
    assert not read_all(data_dir)["dog"]["pinned"]

    kept = invoke(data_dir, "rm", "trip", stdin="n\n")
    assert "Nothing deleted" in kept.output and "trip" in read_all(data_dir)
    gone = invoke(data_dir, "rm", "trip", "--yes")
    assert "Deleted 1." in gone.output and "trip" not in read_all(data_dir)


def test_a_muted_memory_is_never_recalled_and_a_pinned_one_always(data_dir) -> None:
    from assistant.memory.factory import build_recall

    fill(data_dir)
    invoke(data_dir, "mute", "dog")
    invoke(data_dir, "pin", "denver")
    memories: Memories = open_memories(local_settings(data_dir))
    try:
        recalled = build_recall(local_settings(data_dir), memories).recall("What is my dog called?")
        keys = recalled.keys
    finally:
        memories.close()
    assert "dog" not in keys and "denver" in keys and "brief" in keys


def test_markdown_export_is_for_reading(data_dir) -> None:
    fill(data_dir)
    text = invoke(data_dir, "export", "--format", "markdown").output
    assert "## Facts (semantic)" in text and "## History (superseded or retired)" in text
    assert "- The user lives in Boston. _(id boston; from a conversation" in text
    assert "superseded by denver" in text and "pinned" in text
