"""A real terminal for tests: a tmux session running a command, typed into as
people and machines type, its screen read back.

Keys go through one tmux control-mode client (``tmux -C``), so every keystroke of
a test, however sent, reaches the pane in the order it was sent, and characters
can be sent a millisecond apart (one ``tmux send-keys`` process each would take
several).
"""

import contextlib
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Text:
    """Literal text for :meth:`Terminal.send` (not key names)."""

    text: str


def quoted(text: str) -> str:
    """``text`` as one double-quoted tmux argument: ``\\``, ``"``, ``$`` and ``~``
    escaped, and CR, LF, tab and ESC written as tmux's escapes (``\\r``, ``\\n``,
    ``\\t``, ``\\e``)."""
    escapes = {"\\": "\\\\", '"': '\\"', "$": "\\$", "\r": "\\r", "\n": "\\n", "\t": "\\t"}
    escapes |= {"\x1b": "\\e", "~": "\\~"}  # a lone ~ would be $HOME
    return '"' + "".join(escapes.get(ch, ch) for ch in text) + '"'


class Terminal:
    """One tmux session of ``width`` x ``height`` running ``command`` (without the
    COLUMNS and LINES of the test run, which Textual would take over the
    terminal's size), on a tmux server of its own: the pane gets this process's
    environment, not that of a server another test started, and ending it ends
    nothing else.

    Args:
        command: The program and its arguments.
        width: Columns.
        height: Rows.
    """

    def __init__(self, command: list[str], width: int = 120, height: int = 36) -> None:
        self.name = f"assistant-test-{uuid.uuid4().hex[:8]}"
        self.tmux_command = ["tmux", "-L", self.name, "-f", "/dev/null"]
        size = ["-x", str(width), "-y", str(height)]
        unset = ["env", "-u", "COLUMNS", "-u", "LINES"]
        subprocess.run(
            [*self.tmux_command, "new-session", "-d", "-s", self.name, *size, *unset, *command],
            check=True,
        )
        self._client: subprocess.Popen[str] | None = None
        self._seen: set[str] = set()  # lines the commands printed (sync's markers)
        self._errors: list[str] = []  # what tmux said of commands it refused
        self._lock = threading.Condition()

    # Reading ---------------------------------------------------------------

    def screen(self) -> str:
        """The pane's text now, one line per row."""
        return subprocess.run(
            [*self.tmux_command, "capture-pane", "-p", "-t", self.name],
            capture_output=True,
            text=True,
            check=False,
        ).stdout

    def wait_for(
        self, ready: Callable[[str], bool], timeout: float = 120.0, every: float = 0.05
    ) -> str:
        """The screen once ``ready(screen)``, read every ``every`` seconds.

        Raises:
            AssertionError: not ready after ``timeout`` seconds (with the screen).
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if ready(screen):
                return screen
            time.sleep(every)
        raise AssertionError(f"timed out; the screen shows:\n{self.screen()}")

    def alive(self) -> bool:
        check = [*self.tmux_command, "has-session", "-t", self.name]
        return subprocess.run(check, capture_output=True, check=False).returncode == 0

    # Typing ----------------------------------------------------------------

    def keys(self, *keys: str) -> None:
        """``tmux send-keys`` of ``keys`` (key names such as ``Enter``, ``C-j``,
        ``M-Enter``, or ``-l`` and literal text), in one command."""
        self.tmux("send-keys -t {target} " + " ".join(quoted(key) for key in keys))

    def send(self, *parts: "str | Text") -> None:
        """Key names and :class:`Text` in one tmux command line, so tmux writes
        them to the program together (as a burst from a fast link or a machine)."""
        commands = [
            f"send-keys -t {{target}} -l {quoted(part.text)}"
            if isinstance(part, Text)
            else f"send-keys -t {{target}} {quoted(part)}"
            for part in parts
        ]
        self.tmux(" ; ".join(commands))

    def type(self, text: str, interval: float = 0.001) -> None:
        """``text`` one character at a time, ``interval`` seconds apart; ``\\n`` is
        typed as Ctrl+J."""
        for ch in text:
            if ch == "\n":
                self.tmux("send-keys -t {target} C-j")
            else:
                self.tmux("send-keys -t {target} -l " + quoted(ch))
            time.sleep(interval)

    def paste(self, text: str, then: str = "", buffer: Path | None = None) -> None:
        """Paste ``text`` as tmux does (``paste-buffer -p``: bracketed, since the
        program asks for it; newlines sent as CR), then the keys ``then`` (e.g.
        ``Enter``) in the same command.

        Args:
            text: What is pasted.
            then: tmux key names sent right after the paste, or "".
            buffer: The file the text is loaded from (written here, then
                removed); one in /tmp named after the session if ``None``.
        """
        path = buffer or Path(f"/tmp/{self.name}.paste")
        path.write_text(text, encoding="utf-8")
        name = f"paste-{uuid.uuid4().hex[:6]}"
        line = f"load-buffer -b {name} {quoted(str(path))} ; "
        line += f"paste-buffer -p -d -b {name} -t {{target}}"
        if then:
            line += " ; send-keys -t {target} " + then
        self.tmux(line)
        self.sync()
        path.unlink(missing_ok=True)

    def tmux(self, line: str) -> None:
        """Send one tmux command line (``{target}`` is this session) through the
        control client, without waiting for it to run."""
        client = self._control()
        assert client.stdin is not None
        client.stdin.write(line.replace("{target}", self.name) + "\n")
        client.stdin.flush()

    def sync(self, timeout: float = 30.0) -> None:
        """Wait until tmux has run every command sent so far (it runs a client's
        commands in order: the answer to a marker sent now comes after theirs).

        Raises:
            AssertionError: tmux refused a command (with its message), or did not
                answer within ``timeout`` seconds.
        """
        marker = f"sync-{uuid.uuid4().hex[:8]}"
        self.tmux(f"display-message -p {marker}")
        with self._lock:
            if not self._lock.wait_for(lambda: marker in self._seen or "*" in self._seen, timeout):
                raise AssertionError(f"tmux did not answer within {timeout} s")
            self._seen.discard(marker)
            errors, self._errors = self._errors, []
        if errors:
            raise AssertionError(f"tmux refused a command: {errors}")

    def _control(self) -> "subprocess.Popen[str]":
        if self._client is None:
            self._client = subprocess.Popen(
                [*self.tmux_command, "-C", "attach-session", "-t", self.name],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                encoding="utf-8",
                errors="replace",  # %output of the pane, before no-output applies
                bufsize=1,
            )
            threading.Thread(target=self._read_replies, daemon=True).start()
            with self._lock:  # a command sent before the client is attached may fail
                self._lock.wait_for(lambda: "%session-changed" in self._seen, 30)
            self.tmux("refresh-client -f no-output")  # no %output for every redraw
        return self._client

    def _read_replies(self) -> None:
        """Read the answers (``%begin``, output lines, ``%end`` or ``%error``): keep
        the output of commands (the markers) and the messages of errors."""
        client = self._client
        assert client is not None and client.stdout is not None
        output: list[str] = []
        for line in client.stdout:
            if line.startswith("%begin"):
                output.clear()
            elif line.startswith(("%end", "%error")):
                with self._lock:
                    if line.startswith("%error"):
                        self._errors.append(" ".join(output).strip())
                    self._seen.update(text.strip() for text in output)
                    self._lock.notify_all()
            elif line.startswith("%session-changed"):
                with self._lock:
                    self._seen.add("%session-changed")
                    self._lock.notify_all()
            elif not line.startswith("%"):
                output.append(line)
        with self._lock:
            self._errors.append("the control client ended")
            self._seen.add("*")  # nothing more will answer
            self._lock.notify_all()

    def close(self) -> None:
        """End the session, its control client and its server."""
        if self._client is not None and self._client.stdin is not None:
            with contextlib.suppress(OSError):  # it may be gone already
                self._client.stdin.close()
        subprocess.run([*self.tmux_command, "kill-server"], capture_output=True, check=False)
        if self._client is not None:
            try:
                self._client.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._client.kill()
