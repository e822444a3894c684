"""Slash commands typed in the chat: ``/remember``, ``/forget``, ``/reflect``, ...

Only the parsing lives here, so every front end reads commands the same way;
what a command does is up to the front end (the TUI asks before it forgets).
A message that starts with ``/`` followed by a known name is a command; one
that starts with ``//`` is sent as a message without its first ``/``; a path
such as ``/usr/bin`` is a message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.errors import InputError

#: Every command with its arguments and what it does, for /help and errors.
COMMANDS: dict[str, tuple[str, str]] = {
    "remember": ("TEXT", "save a memory now (rule: or fact: picks the kind)"),
    "forget": ("TEXT", "find memories matching TEXT and delete them, after asking"),
    "reflect": ("", "reflect on this conversation now"),
    "memories": ("", "browse, search and edit what is remembered (F3)"),
    "incognito": ("", "make this conversation private, or not (nothing remembered)"),
    "help": ("", "list the commands"),
}
_COMMAND = re.compile(r"^/([A-Za-z]+)(?:\s+(.*))?$", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Command:
    """A parsed slash command: its name and the text after it (maybe empty)."""

    name: str
    argument: str = ""


def command_help() -> str:
    """One line per command: usage and what it does."""
    return "\n".join(
        f"/{name}{' ' + args if args else ''}  {what}" for name, (args, what) in COMMANDS.items()
    )


def parse_command(text: str) -> Command | str:
    """A ``Command``, or the message to send when ``text`` is none.

    Raises:
        InputError: an unknown command, a missing argument, or an argument to a
            command that takes none.
    """
    stripped = text.strip()
    if stripped.startswith("//"):
        return text.lstrip()[1:]
    match = _COMMAND.match(stripped)
    if match is None:
        return text
    name, argument = match.group(1).lower(), (match.group(2) or "").strip()
    if name not in COMMANDS:
        raise InputError(
            f"Unknown command /{name}. Commands: "
            f"{', '.join('/' + c for c in COMMANDS)}. "
            "To send a message that starts with /, start it with //."
        )
    takes, _ = COMMANDS[name]
    if takes and not argument:
        raise InputError(f"/{name} needs {takes}: /{name} {takes}")
    if not takes and argument:
        raise InputError(f"/{name} takes nothing after it.")
    return Command(name, argument)
