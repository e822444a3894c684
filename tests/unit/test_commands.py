"""Slash command parsing and the memories typed by hand (no store needed)."""

import pytest

from assistant.commands import Command, parse_command
from assistant.errors import InputError
from assistant.memory.editing import memory_from_text
from assistant.memory.schemas import MAX_FIELD_CHARS


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("/remember I like tea", Command("remember", "I like tea")),
        ("  /REFLECT ", Command("reflect")),
        ("/forget my\nold address", Command("forget", "my\nold address")),
        ("/incognito", Command("incognito")),
        ("hello /remember", "hello /remember"),
        ("/usr/bin is where it lives", "/usr/bin is where it lives"),
        ("//remember is a command", "/remember is a command"),
    ],
)
def test_parse_command(text: str, parsed: Command | str) -> None:
    assert parse_command(text) == parsed


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("/remmber milk", "Unknown command /remmber"),
        ("/remember", "/remember needs TEXT"),
        ("/forget   ", "/forget needs TEXT"),
        ("/reflect now please", "/reflect takes nothing"),
    ],
)
def test_bad_commands_say_why(text: str, error: str) -> None:
    with pytest.raises(InputError, match=error):
        parse_command(text)


@pytest.mark.parametrize(
    ("text", "kind", "rendered"),
    [
        ("from now on, answer in metric", "procedural", "Answer in metric."),
        ("never use emoji", "procedural", "Never use emoji."),
        ("rule: short answers", "procedural", "Short answers."),
        ("The user's dog is Fido", "semantic", "The user's dog is Fido."),
        ("I'm allergic to nuts", "semantic", 'The user said: "I\'m allergic to nuts."'),
        ("fact: never give up is my motto", "semantic", "Never give up is my motto."),
    ],
)
def test_the_kind_is_inferred_from_the_words(text: str, kind: str, rendered: str) -> None:
    memory = memory_from_text(text, thread_id="t1")
    assert (memory.kind, memory.render()) == (kind, rendered)
    assert memory.provenance.source == "user" and memory.provenance.thread_id == "t1"


def test_empty_or_huge_memories_are_refused() -> None:
    with pytest.raises(InputError, match="Nothing to remember"):
        memory_from_text("rule:   ")
    with pytest.raises(InputError, match="at most"):
        memory_from_text("a" * (MAX_FIELD_CHARS + 1))
