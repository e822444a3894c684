"""Ctrl+Q in a real terminal ends the process at once (tui.main ends it with
os._exit once the runtime is closed), and what was on the screen is saved: the
installed `assistant` under tmux, the database read afterwards."""

import os
import shlex
import sqlite3
import subprocess
import time
from pathlib import Path

from tests.e2e.test_terminal import Terminal, pytestmark  # noqa: F401 (the marks)
from tests.integration.conftest import ASSISTANT

LONG = "Write a very long story about a lighthouse keeper, in ten chapters."


def start(data_dir: Path, ended: Path) -> Terminal:
    """`assistant` with the tiny model and long replies; its exit status goes to ``ended``."""
    command = [ASSISTANT, "--data-dir", str(data_dir), "--backend", "local"]
    script = f"{shlex.join(command)}; echo $? > {shlex.quote(str(ended))}"
    env = ["env", "TERM=xterm-256color", "ASSISTANT_LOCAL_MODEL=tiny"]
    return Terminal([*env, "ASSISTANT_MAX_REPLY_TOKENS=2000", "sh", "-c", script])


def reply_on(screen: str) -> list[str]:
    """The words of the reply shown: under its author line, above the message box."""
    lines = screen.splitlines()
    start = next((i for i, line in enumerate(lines) if "Assistant · SmolLM2" in line), None)
    if start is None:
        return []
    words = []
    for line in lines[start + 1 :]:
        if "╭" in line:
            break
        words += [w for w in line.split() if w not in ("▕", "▏", "│")]
    return words


def wait_for_exit(ended: Path, timeout: float = 15.0) -> int:
    deadline = time.monotonic() + timeout
    while not (ended.exists() and ended.read_text().strip()):
        assert time.monotonic() < deadline, "the process did not end after Ctrl+Q"
        time.sleep(0.05)
    return int(ended.read_text())


def test_ctrl_q_during_a_reply_ends_the_process_and_keeps_the_reply(data_dir, tmp_path) -> None:
    ended = tmp_path / "ended"
    terminal = start(data_dir, ended)
    try:
        terminal.wait_for(lambda s: "embedded · SmolLM2" in s and "Enter sends" in s)
        terminal.keys("-l", LONG)
        terminal.wait_for(lambda s: "ten chapters" in s, timeout=10)
        terminal.keys("Enter")
        terminal.wait_for(lambda s: "writing" in s)
        # Some of the reply on the screen: words between its author line and the box.
        screen = terminal.wait_for(lambda s: len(reply_on(s)) >= 8)
        terminal.keys("C-q")
        assert wait_for_exit(ended) == 0
    finally:
        terminal.close()
    database = sqlite3.connect(data_dir / "conversations.sqlite3")
    rows = database.execute("SELECT role, status, content FROM messages ORDER BY id").fetchall()
    database.close()
    assert [(role, status) for role, status, _ in rows] == [
        ("user", "complete"),
        ("assistant", "cancelled"),
    ]
    assert rows[0][2] == LONG
    shown = reply_on(screen)
    kept = rows[1][2].split()
    assert kept[: len(shown) - 1] == shown[:-1], (shown, kept)  # what was on the screen


def test_ctrl_q_when_idle_ends_the_process_with_status_0(data_dir, tmp_path) -> None:
    ended = tmp_path / "ended"
    terminal = start(data_dir, ended)
    try:
        terminal.wait_for(lambda s: "embedded · SmolLM2" in s and "Enter sends" in s)
        terminal.keys("C-q")
        assert wait_for_exit(ended) == 0
    finally:
        terminal.close()


def test_assistant_alone_opens_the_tui_from_the_environment(data_dir, tmp_path) -> None:
    """No argument at all skips the command line's parser: the settings still come
    from the environment and the config file, and a bad one is one line."""
    ended = tmp_path / "ended"
    script = f"{shlex.quote(ASSISTANT)}; echo $? > {shlex.quote(str(ended))}"
    env = ["env", "TERM=xterm-256color", f"ASSISTANT_DATA_DIR={data_dir}"]
    env += ["ASSISTANT_BACKEND=local", "ASSISTANT_LOCAL_MODEL=tiny"]
    terminal = Terminal([*env, "sh", "-c", script])
    try:
        terminal.wait_for(lambda s: "embedded · SmolLM2" in s and "Enter sends" in s)
        terminal.keys("C-q")
        assert wait_for_exit(ended) == 0
    finally:
        terminal.close()
    assert (data_dir / "conversations.sqlite3").exists()  # the data dir of the environment

    config = tmp_path / "config.toml"
    config.write_text('backend = "nonsense"\n')
    result = subprocess.run(
        [ASSISTANT],
        capture_output=True,
        text=True,
        timeout=60,
        env=os.environ | {"ASSISTANT_CONFIG": str(config), "ASSISTANT_DATA_DIR": str(data_dir)},
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and "backend" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
