"""``memories import`` in the core (issue 18, items 1, 9 and 10): checked whole
before anything is written, control characters removed and counted, deep
nesting refused by line, chunked writes with progress; on real Chroma."""

import json
from pathlib import Path

import pytest

from assistant.errors import InputError
from assistant.memory.repository import Memories
from assistant.memory.schemas import KINDS, SemanticMemory
from assistant.memory.transfer import FileLines, import_lines

FACTS = [
    "The user's dog is named Fido.",
    "The user works as a nurse in Lyon.",
    "The user plays the cello on Sundays.",
    "The user is allergic to peanuts.",
    "The user's sister lives in Porto.",
]


def line(fact: str, key: str | None = None) -> str:
    value = SemanticMemory(subject="the user", fact=fact).to_value()
    return json.dumps({"id": key, **value} if key else value)


def everything(memories: Memories) -> dict[str, str]:
    return {m.key: m.text for kind in KINDS for m in memories.every(kind)}


def test_control_characters_are_removed_and_counted(memories: Memories) -> None:
    hostile = "The user likes \x1b]0;pwned\x07green tea\x9b2J."
    lines = [line(hostile, "a1"), line(FACTS[0], "a2")]

    report = import_lines(memories, lines)

    assert report.added == 2 and report.cleaned == 1
    assert "control characters removed from 1 lines" in report.summary
    text = everything(memories)["a1"]
    assert text == "The user likes ]0;pwnedgreen tea2J."
    assert not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F for c in text)


def test_deeply_nested_json_names_its_line_and_writes_nothing(memories: Memories) -> None:
    deep = (
        '{"kind": "semantic", "subject": "the user", "fact": "x", "extra": '
        + ("[" * 100_000)
        + ("]" * 100_000)
        + "}"
    )
    shallow_but_deep = json.dumps(
        {"kind": "semantic", "x": [[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]}
    )
    for bad in (deep, shallow_but_deep.replace("[1]", "[" * 40 + "1" + "]" * 40)):
        with pytest.raises(InputError) as caught:
            import_lines(memories, [line(FACTS[0], "k1"), bad], chunk=1)
        assert str(caught.value).startswith("Line 2 is nested")
        assert "nothing imported" in str(caught.value)
        assert everything(memories) == {}


def test_a_bad_last_line_writes_nothing_even_in_small_chunks(memories: Memories) -> None:
    lines = [line(fact, f"k{i}") for i, fact in enumerate(FACTS)] + ["{oops"]
    with pytest.raises(InputError, match="Line 6 is not JSON"):
        import_lines(memories, lines, chunk=2)
    assert everything(memories) == {}


def test_chunks_report_progress_and_twins_merge_across_chunks(
    memories: Memories, tmp_path: Path
) -> None:
    path = tmp_path / "export.jsonl"
    rows = [line(fact, f"k{i}") for i, fact in enumerate(FACTS)]
    rows.append(line("The user's dog is named Fido!", "k9"))  # the same text, chunk 3
    path.write_text("\n".join(rows) + "\n\n")
    seen: list[tuple[int, int]] = []

    report = import_lines(memories, FileLines(path), chunk=2, progress=lambda *p: seen.append(p))

    assert (report.added, report.merged, report.unchanged) == (5, 0, 1)
    assert seen == [(2, 6), (4, 6), (6, 6), (6, 6)]
    assert sorted(everything(memories)) == [f"k{i}" for i in range(5)]
    again = import_lines(memories, iter(path.read_text().splitlines()), chunk=4)
    assert (again.added, again.merged, again.unchanged) == (0, 0, 6)


def test_a_file_that_cannot_be_read_is_one_line(memories: Memories, tmp_path: Path) -> None:
    path = tmp_path / "binary.jsonl"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(InputError, match=r"Cannot read .*binary\.jsonl"):
        import_lines(memories, FileLines(path))
