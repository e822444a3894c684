"""Typing into the installed `assistant` under tmux as people and machines type:
every message saved is what was typed, exactly once, in order (issue 17).

200 messages in one run, in eight conversations: typed during the model's load
(queued), text and Enter in one tmux command, a literal "text\\r" in one write,
bracketed pastes of several lines, characters a millisecond apart, text typed
while the previous reply is written, and the newline keys (Ctrl+J, Alt+Enter as
tmux sends it, ESC CR, and the kitty protocol's Alt+Enter and Shift+Enter) typed
fast. Replies are kept short (16 tokens, a small history, no recall): this tests
the terminal, not the model. Every wait is on a condition (the database, the
status line), with generous deadlines for a loaded machine.
"""

import os
import random
import shutil
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.terminal import Terminal, Text
from tests.integration.conftest import ASSISTANT

pytestmark = [
    pytest.mark.terminal,
    pytest.mark.model,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]

#: Short, fast replies; no memories or past exchanges in the prompt.
QUICK = {
    "ASSISTANT_MAX_REPLY_TOKENS": "16",
    "ASSISTANT_HISTORY_TOKENS": "64",
    "ASSISTANT_RECALL_BUDGET_TOKENS": "0",
    "ASSISTANT_CONVERSATION_SEARCH": "false",
    "ASSISTANT_LOCAL_CONTEXT_TOKENS": "1024",
    "ASSISTANT_TEMPERATURE": "0",
}
CONVERSATIONS = 8  # a short log and history in each: the turns stay quick
REFUSED = ("Wait for the reply to finish", "still loading")
VOCABULARY = (
    "hello world tea Berlin December cat Mis Marta the of and weather sister Ana "
    "code 4471 *star* #hash _under_ <tag> [link](x) {brace} 'quote' \"double\" back\\slash "
    "$HOME ~tilde semi;colon a|b 50% é ü ß ñ Ωμέγα 日本語 café naïve 🙂 ✓ → …"
)
WORDS = VOCABULARY.split()


def sentence(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(low, high)))


class Chat:
    """The app in a terminal, and what was typed into it."""

    def __init__(self, terminal: Terminal, database: Path) -> None:
        self.term = terminal
        self.database = database
        self.typed: list[str] = []
        self.retries = 0  # Enter pressed again after a refusal (the text stayed)
        self.overlaps = 0  # messages typed while a reply was being written

    def saved(self) -> list[str]:
        """The user's messages in the database, oldest first."""
        if not self.database.exists():
            return []
        try:
            db = sqlite3.connect(f"file:{self.database}?mode=ro", uri=True, timeout=10)
            try:
                rows = db.execute("SELECT role, content FROM messages ORDER BY id").fetchall()
            finally:
                db.close()
        except sqlite3.OperationalError:  # not created yet
            return []
        self.replies = sum(role == "assistant" for role, _ in rows)
        return [content for role, content in rows if role == "user"]

    @staticmethod
    def status(screen: str) -> str:
        return screen.splitlines()[0] if screen else ""

    def busy(self, screen: str) -> bool:
        """A reply is on its way (the status line says so)."""
        return "thinking…" in self.status(screen) or "writing…" in self.status(screen)

    def wait_idle(self, timeout: float = 90.0) -> None:
        """Until the model is ready, every message sent has its reply saved, and the
        status line says no reply is on its way."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done = len(self.saved()) == len(self.typed) and self.replies == len(self.typed)
            if done:
                screen = self.term.screen()
                if "● embedded" in self.status(screen) and not self.busy(screen):
                    return
            time.sleep(0.05)
        raise AssertionError(f"not idle; saved {self.saved()[-3:]}:\n{self.term.screen()}")

    def expect(self, text: str) -> None:
        """``text`` has been sent (with its Enter): wait until it is saved, or
        queued while the model loads. A refusal (a reply still running) leaves
        it in the box: Enter again once idle, as a person would."""
        self.typed.append(text)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            waiting = len(self.typed) - len(self.saved())
            if waiting <= 0:
                return
            screen = self.term.screen()
            queued = "your message is" if waiting == 1 else f"{waiting} messages are"
            if f"{queued} sent when the model is ready" in self.status(screen):
                return  # queued while the model loads: saved once it is ready
            if any(words in screen for words in REFUSED):
                self.retries += 1
                self.wait_gone(REFUSED)
                self.typed.pop()
                self.wait_idle()
                self.typed.append(text)
                self.term.keys("Enter")
            time.sleep(0.05)
        raise AssertionError(f"{text!r} was not saved:\n{self.term.screen()}")

    def wait_gone(self, words: tuple[str, ...]) -> None:
        self.term.wait_for(lambda s: not any(w in s for w in words), timeout=30)

    def note_overlap(self) -> None:
        """Count this message as typed during a reply if one is still running."""
        self.term.sync()
        if self.busy(self.term.screen()):
            self.overlaps += 1


#: The newline keys as tmux names them, and as terminals send them: Alt+Enter as
#: ESC CR (tmux, xterm, VTE), Alt+Enter and Shift+Enter in the kitty protocol.
NEWLINES: tuple["str | Text", ...] = (
    "C-j",
    "M-Enter",
    Text("\x1b\r"),
    Text("\x1b[13;3u"),
    Text("\x1b[13;2u"),
)


def newline_keys(rng: random.Random, lines: list[str]) -> tuple[list["str | Text"], str]:
    """What types ``lines`` with newline keys between them, and the text that makes."""
    parts: list[str | Text] = [Text(lines[0])]
    for line in lines[1:]:
        parts += [rng.choice(NEWLINES), Text(line)]
    return parts, "\n".join(lines)


@pytest.fixture
def chat(data_dir: Path) -> Iterator[Chat]:
    passed = ("HOME", "PATH", "PYTHONPATH", "OLLAMA_HOST")
    env = {k: v for k, v in os.environ.items() if k.startswith(("ASSISTANT_", "XDG_"))}
    env |= {k: os.environ[k] for k in passed if k in os.environ} | QUICK
    env["TERM"] = "xterm-256color"
    command = [
        "env",
        *(f"{k}={v}" for k, v in env.items()),
        ASSISTANT,
        "--data-dir",
        str(data_dir),
        "--backend",
        "local",
    ]
    terminal = Terminal(command)
    yield Chat(terminal, data_dir / "conversations.sqlite3")
    terminal.close()


def test_two_hundred_messages_typed_every_way_are_saved_as_typed(chat: Chat) -> None:
    rng = random.Random(17)
    term = chat.term
    started = time.monotonic()

    # During the model's load: typed 1 ms apart, Enter at once; they wait, in order.
    term.wait_for(lambda s: "Enter sends" in s, timeout=60)
    loading = "● embedded" not in chat.status(term.screen())
    for _ in range(3):
        text = f"m{len(chat.typed)} while loading {sentence(rng, 3, 8)}"
        term.type(text)
        term.keys("Enter")
        chat.expect(text)
    chat.wait_idle()

    k = 0
    for conversation in range(CONVERSATIONS):
        if conversation:  # after the last reply: Ctrl+N is a priority key (it jumps queued keys)
            chat.wait_idle()
            term.keys("C-n")
            term.wait_for(lambda s: "Start typing below" in s, timeout=30)
        target = 3 + round(197 * (conversation + 1) / CONVERSATIONS)
        while len(chat.typed) < target:
            k, n = k + 1, len(chat.typed)
            way = k % 8
            chat.wait_idle()
            if way in (0, 1):  # text then Enter, one tmux command
                text = f"m{n} {sentence(rng, 2, 30) if k % 10 == 0 else sentence(rng, 2, 10)}"
                term.send(Text(text), "Enter")
            elif way == 2:  # a literal "text\r": one write
                text = f"m{n} {sentence(rng, 2, 10)}"
                term.send(Text(text + "\r"))
            elif way == 3:  # a bracketed paste of several lines, and Enter
                lines = [f"m{n} pasted"] + [sentence(rng, 0, 8) for _ in range(rng.randint(1, 5))]
                if k % 16 == 3:
                    lines[1:1] = ["```python", "def f(x):", "    return x * 2  # *not* bold", "```"]
                text = "\n".join(lines)
                term.paste(text, then="Enter")
            elif way in (4, 5):  # a millisecond between characters, Enter too
                text = f"m{n} {sentence(rng, 2, 10)}"
                term.type(text + "\r")
            elif way == 6:  # newline keys typed fast, in one command
                lines = [f"m{n} lines"] + [sentence(rng, 1, 8) for _ in range(rng.randint(1, 4))]
                parts, text = newline_keys(rng, lines)
                term.send(*parts, "Enter")
            else:  # newline keys a millisecond apart, Ctrl+J and Alt+Enter
                lines = [f"m{n} typed lines"] + [sentence(rng, 1, 6) for _ in range(3)]
                text = "\n".join(lines)
                for i, line in enumerate(lines):
                    if i:
                        term.keys("C-j" if i % 2 else "M-Enter")
                    term.type(line)
                term.keys("Enter")
            chat.expect(text)
            if way == 7 and len(chat.typed) < target:  # the next, typed during the reply
                n = len(chat.typed)
                text = f"m{n} typed during the reply {sentence(rng, 2, 12)}"
                if n % 2:
                    term.type(text)
                else:
                    term.send(Text(text))
                chat.note_overlap()
                chat.wait_idle()
                term.keys("Enter")
                chat.expect(text)
    chat.wait_idle()
    elapsed = time.monotonic() - started

    saved = chat.saved()
    repeated = [text for text, count in Counter(saved).items() if count > 1]
    lost = [text for text in chat.typed if text not in saved]
    exact = sum(a == b for a, b in zip(saved, chat.typed, strict=False))
    figures = (
        f"{len(chat.typed)} typed, {len(saved)} saved, {exact} exact and in order, "
        f"{chat.retries} Enter again after a refusal, {chat.overlaps} typed during a reply, "
        f"typed during the load: {loading}, {elapsed:.0f} s"
    )
    print(figures)
    assert len(chat.typed) == 200, figures
    assert not lost and not repeated, f"{figures}\nlost: {lost}\nrepeated: {repeated}"
    assert saved == chat.typed, figures
    assert chat.overlaps > 0, figures
    assert "Message (Enter sends)" in term.screen(), "the box is left empty"
