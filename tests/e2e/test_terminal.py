"""A real terminal: tmux runs the installed `assistant`, types, and reads the screen."""

import json
import shutil
import time
from collections.abc import Iterator

import pytest

from tests.e2e.terminal import Terminal
from tests.integration.conftest import ASSISTANT, run_cli

pytestmark = [
    pytest.mark.terminal,
    pytest.mark.model,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]


@pytest.fixture
def terminal(data_dir) -> Iterator[Terminal]:
    # Short replies: this tests the terminal, not the model.
    env = [
        "env",
        "TERM=xterm-256color",
        "ASSISTANT_MAX_REPLY_TOKENS=64",
        "ASSISTANT_LOCAL_MODEL=tiny",
    ]
    term = Terminal([*env, ASSISTANT, "--data-dir", str(data_dir), "--backend", "local"])
    yield term
    term.close()


def test_type_a_message_and_read_the_reply(terminal: Terminal, data_dir) -> None:
    terminal.wait_for(lambda s: "embedded · SmolLM2" in s and "Enter sends" in s)
    terminal.keys("-l", "Hello there, tell me a joke")
    # As a person does: press Enter once the text shows in the input.
    terminal.wait_for(lambda s: "Hello there, tell me a joke" in s, timeout=10)
    terminal.keys("Enter")
    # The status line says "thinking…", then "writing…", until the reply is saved.
    screen = terminal.wait_for(
        lambda s: "Assistant · SmolLM2" in s and "writing" not in s and "thinking" not in s
    )
    assert "Hello there, tell me a joke" in screen
    reply = screen.split("Assistant · SmolLM2", 1)[1]
    assert any(ch.isalpha() for ch in reply), screen

    terminal.keys("C-q")
    deadline = time.monotonic() + 10
    while terminal.alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not terminal.alive(), "ctrl+q quits"
    rows = [
        json.loads(line)
        for line in run_cli("threads", "--json", data_dir=data_dir).stdout.splitlines()
    ]
    assert [(r["title"], r["messages"]) for r in rows] == [("Hello there, tell me a joke", 2)]


def test_open_the_memory_pane_search_and_see_a_known_memory(data_dir) -> None:
    run_cli("memories", "add", "fact: The user's locker code is 4471.", data_dir=data_dir)
    run_cli("memories", "add", "rule: Answer in metric units.", data_dir=data_dir)
    env = ["env", "TERM=xterm-256color"]
    terminal = Terminal([*env, ASSISTANT, "--data-dir", str(data_dir), "--backend", "local"])
    try:
        terminal.wait_for(lambda s: "embedded · SmolLM2" in s)  # memories open with the model
        terminal.keys("F3")
        # The heading counts the memories as they load; the rows are drawn after.
        terminal.wait_for(
            lambda s: "Memories · 2 active" in s and "Answer in metric units." in s, timeout=20
        )
        terminal.keys("/")
        terminal.keys("-l", "locker")
        screen = terminal.wait_for(lambda s: "found for “locker”" in s, timeout=20)
        table = screen.split("Memory", 1)[1]
        assert "The user's locker code is 4471." in table.splitlines()[1], screen
        terminal.keys("Escape")  # leaves the search box
        terminal.keys("Escape")  # back to the chat
        terminal.wait_for(lambda s: "Enter sends" in s, timeout=10)
        terminal.keys("C-q")
        deadline = time.monotonic() + 10
        while terminal.alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not terminal.alive(), "ctrl+q quits"
    finally:
        terminal.close()
