"""`assistant memories` as people read it (issue 17, "The CLI, clean"), through the
installed command on real Chroma with the real embedder: `show` prints values,
not Python reprs, in local time; `--kind` takes the TUI's words too; `search`
shows each memory's score, leaves out what the query is not about, and says so
when nothing matches."""

import json
import re
from datetime import UTC, datetime

from assistant.memory.factory import open_memories
from assistant.memory.schemas import EpisodicMemory, ProceduralMemory, Provenance, SemanticMemory
from tests.integration.conftest import local_settings, run_cli

T0 = datetime(2026, 11, 2, 21, 30, tzinfo=UTC)
#: India is UTC+5:30 all year: T0 is 3 November, 03:00 there.
INDIA = {"TZ": "Asia/Kolkata"}


def fill(data_dir) -> None:
    memories = open_memories(local_settings(data_dir))
    chat = Provenance(source="reflection", thread_id="t1", message_ids=(4, 5))
    times = {"created_at": T0, "updated_at": T0, "valid_from": T0}
    memories.put(
        "boston",
        SemanticMemory(
            subject="the user",
            fact="The user lives in Boston.",
            provenance=chat,
            invalid_at=T0,
            superseded_by="denver",
            **times,
        ),
    )
    memories.put("denver", SemanticMemory(subject="the user", fact="The user lives in Denver."))
    memories.put("dog", SemanticMemory(subject="the user's dog", fact="The user's dog is Fido."))
    memories.put("brief", ProceduralMemory(rule="Answer briefly.", pinned=True))
    memories.put(
        "trip",
        EpisodicMemory(
            situation="The user planned a trip to Rome.",
            action="The assistant listed museums.",
            outcome="The user wanted food tips instead.",
        ),
    )
    memories.close()


def test_show_prints_values_not_reprs_in_local_time(data_dir) -> None:
    fill(data_dir)

    shown = run_cli("memories", "show", "bost", data_dir=data_dir, **INDIA)

    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    for field in (
        "id: boston",
        "kind: fact (semantic)",
        "subject: the user",
        "fact: The user lives in Boston.",
        "state: superseded",
        "pinned: no",
        "muted: no",
        "created: 2026-11-03 03:00",
        "invalid at: 2026-11-03 03:00",
        "source: chat · (deleted conversation)",
        "conversation: t1",
        "messages: 4, 5",
        "superseded by: The user lives in Denver.  [denver]",
    ):
        assert field in lines, shown.stdout
    for repr_ in ("None", "False", "True", "{", "'", "provenance", "2026-11-02T"):
        assert repr_ not in shown.stdout
    assert not any(line.startswith("confidence") for line in lines)  # empty: left out

    trip = run_cli("memories", "show", "trip", data_dir=data_dir).stdout.splitlines()
    assert "kind: experience (episodic)" in trip and "source: you" in trip
    assert not any(line.startswith("lesson") for line in trip)
    brief = run_cli("memories", "show", "brief", data_dir=data_dir).stdout.splitlines()
    assert "pinned: yes" in brief and "rule: Answer briefly." in brief


def test_kind_takes_the_tuis_words_too(data_dir) -> None:
    fill(data_dir)

    for word, kind in (("fact", "semantic"), ("experience", "episodic"), ("rule", "procedural")):
        by_word = run_cli("memories", "list", "--kind", word, data_dir=data_dir)
        assert by_word.returncode == 0, by_word.stderr
        by_kind = run_cli("memories", "list", "-k", kind, data_dir=data_dir)
        assert by_word.stdout == by_kind.stdout and by_word.stdout.strip()
        assert {line.split()[1] for line in by_word.stdout.splitlines()} == {kind}
    found = run_cli("memories", "search", "Rome", "--kind", "experience", data_dir=data_dir)
    assert found.returncode == 0 and found.stdout.startswith("trip")
    none = run_cli("memories", "search", "Rome", "--kind", "rule", data_dir=data_dir)
    assert none.stdout == "No memory matches 'Rome'.\n"

    bad = run_cli("memories", "list", "--kind", "dog", data_dir=data_dir)
    assert bad.returncode == 2 and "'fact', 'experience', 'rule'" in bad.stderr
    for command in ("list", "search"):
        helped = run_cli("memories", command, "--help", data_dir=data_dir, COLUMNS="200")
        assert "fact (or semantic), experience (or episodic), rule (or procedural)" in (
            helped.stdout
        )


def test_search_shows_scores_and_lists_only_what_is_relevant(data_dir) -> None:
    fill(data_dir)

    found = run_cli("memories", "search", "pet animal", data_dir=data_dir)

    assert found.returncode == 0, found.stderr
    [line] = found.stdout.splitlines()  # the dog, not every memory
    assert re.fullmatch(r"dog  semantic {9}score 0\.\d\d  The user's dog is Fido\.", line)

    nothing = run_cli("memories", "search", "xyzzy", data_dir=data_dir)
    assert nothing.returncode == 0 and nothing.stdout == "No memory matches 'xyzzy'.\n"
    as_json = run_cli("memories", "search", "xyzzy", "--json", data_dir=data_dir)
    assert as_json.stdout == "" and "No memory matches 'xyzzy'." in as_json.stderr

    rows = run_cli("memories", "search", "Fido", "--json", data_dir=data_dir).stdout
    [row] = [json.loads(line) for line in rows.splitlines()]
    assert row["id"] == "dog" and 0.25 <= row["score"] <= 1

    # A stricter setting leaves out what the default lists.
    strict = run_cli(
        "memories", "search", "pet animal", data_dir=data_dir, ASSISTANT_SEARCH_MIN_SCORE="0.9"
    )
    assert strict.stdout == "No memory matches 'pet animal'.\n"
