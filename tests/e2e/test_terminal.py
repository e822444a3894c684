"""A real terminal: tmux runs the installed `assistant`, types, and reads the screen."""

import json
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator

import pytest

from tests.integration.conftest import ASSISTANT, run_cli

pytestmark = [
    pytest.mark.terminal,
    pytest.mark.model,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]


class Terminal:
    """One tmux session of 120x36 running a command (without the COLUMNS and
    LINES of the test run, which Textual would take over the terminal's size)."""

    def __init__(self, command: list[str]) -> None:
        self.name = f"assistant-test-{uuid.uuid4().hex[:8]}"
        size = ["-x", "120", "-y", "36"]
        unset = ["env", "-u", "COLUMNS", "-u", "LINES"]
        subprocess.run(
            ["tmux", "new-session", "-d", "-s", self.name, *size, *unset, *command], check=True
        )

    def screen(self) -> str:
        return subprocess.run(
            ["tmux", "capture-pane", "-p", "-t", self.name],
            capture_output=True,
            text=True,
            check=False,
        ).stdout

    def keys(self, *keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)

    def wait_for(self, ready: Callable[[str], bool], timeout: float = 120.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if ready(screen):
                return screen
            time.sleep(0.2)
        raise AssertionError(f"timed out; the screen shows:\n{self.screen()}")

    def alive(self) -> bool:
        check = ["tmux", "has-session", "-t", self.name]
        return subprocess.run(check, capture_output=True, check=False).returncode == 0

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True, check=False)


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
        screen = terminal.wait_for(lambda s: "Memories · 2 active" in s, timeout=20)
        assert "Answer in metric units." in screen
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
