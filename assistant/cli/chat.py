"""``assistant chat`` and ``assistant threads``: one message from the command
line, its reply streamed to stdout, and the list of conversations."""

import asyncio
import sys
from contextlib import aclosing
from typing import Annotated

import typer

from assistant.cli.notices import note_once
from assistant.commands import Command, command_help, parse_command
from assistant.config import Settings
from assistant.errors import AssistantError, InputError
from assistant.formats import terminal_safe
from assistant.runtime import Runtime


def chat(
    ctx: typer.Context,
    text: Annotated[str, typer.Argument(help="The message; '-' reads it from stdin.")],
    thread: Annotated[
        str | None, typer.Option("--thread", "-t", help="Continue this conversation (id).")
    ] = None,
    new: Annotated[bool, typer.Option("--new", "-n", help="Start a new conversation.")] = False,
    incognito: Annotated[
        bool,
        typer.Option(
            "--incognito", help="Make the conversation private: nothing remembered or recalled."
        ),
    ] = False,
) -> None:
    """Send one message and stream the reply to stdout (default: the latest conversation).

    A message such as "/remember TEXT" or "/reflect" runs that command instead.
    """
    if thread and new:
        raise InputError("Give either --thread or --new, not both.")
    if text == "-":  # bytes, whatever the locale's encoding; user_text checks them
        text = user_text(sys.stdin.buffer.read().decode("utf-8", "surrogateescape"), "stdin")
        text = text.removesuffix("\n").removesuffix("\r")  # the newline echo or a file ends with
    text = user_text(text)
    settings: Settings = ctx.obj.settings
    parsed = parse_command(text)
    if isinstance(parsed, Command):
        for line in run_command(settings, parsed, thread):
            typer.echo(terminal_safe(line))
        return
    try:
        asyncio.run(run_chat(settings, parsed, thread_id=thread, new=new, incognito=incognito))
    except KeyboardInterrupt:
        typer.echo("\nStopped. Your message and the partial reply are saved.", err=True)
        raise typer.Exit(130) from None


def user_text(text: str, source: str = "") -> str:
    """``text`` from the command line or ``source`` (``"stdin"``), refused if it is
    not UTF-8: Python hands undecodable bytes over as lone surrogates
    (``surrogateescape``), which no database or model can take.

    Raises:
        InputError: where the first undecodable byte is, and how to convert the text.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        byte = ord(text[exc.start]) - 0xDC00
        where = f"the text from {source}" if source else "the text"
        raise InputError(
            f"Nothing saved: {where} is not UTF-8 (byte {byte:#04x} at character "
            f"{exc.start}). Convert it first, e.g. `iconv -f latin1 -t utf-8`."
        ) from None
    return text


async def run_chat(
    settings: Settings,
    text: str,
    *,
    thread_id: str | None = None,
    new: bool = False,
    incognito: bool = False,
) -> str:
    """Send ``text`` and write the reply to stdout as it streams.

    The conversation is ``thread_id``, a new one with ``new``, else the most recent
    one (a new one when there is none); ``incognito`` makes it private first.
    Notices go to stderr.

    Returns:
        The id of the thread the message went to.

    Raises:
        AssistantError: bad input, storage or model failure (one-line message).
    """
    from assistant.session import check_message

    check_message(text, settings.max_message_chars)  # bad input costs no model load
    with Runtime(settings) as runtime:
        return await _chat(runtime, text, thread_id, new=new, incognito=incognito)


async def _chat(
    runtime: Runtime, text: str, thread_id: str | None, *, new: bool, incognito: bool
) -> str:
    from assistant.session import ReplyFinished, ReplyToken, RulesSaved

    store = runtime.conversations
    thread = store.get_thread(thread_id) if thread_id else None
    note_once(runtime.settings.data_dir, runtime.choice.notice)
    recall = None
    try:
        recall = runtime.recall()
    except AssistantError as exc:
        note = terminal_safe(f"note: memories are off for this message: {exc}")
        print(note, file=sys.stderr)
    session = runtime.session(recall)
    if thread is None:
        latest = None if new else next(iter(store.list_threads(limit=1)), None)
        thread = latest or store.create_thread()
    if incognito and not thread.incognito:
        thread = runtime.set_incognito(thread.id, True)
    async with aclosing(session.send(thread.id, text)) as events:
        async for event in events:
            if isinstance(event, ReplyToken):
                sys.stdout.write(terminal_safe(event.text))
                sys.stdout.flush()
            elif isinstance(event, RulesSaved):
                rules = terminal_safe(" ".join(event.rules))
                print(f"note: rule saved: {rules}", file=sys.stderr)
            elif isinstance(event, ReplyFinished) and event.message.error:
                print(f"\nnote: {terminal_safe(event.message.error)}", file=sys.stderr)
    sys.stdout.write("\n")
    return thread.id


def run_command(settings: Settings, command: Command, thread_id: str | None) -> list[str]:
    """A slash command given to ``assistant chat``: ``/remember`` and ``/reflect`` run
    (no chat model is loaded for ``/remember``); the others say what to use instead.

    Returns:
        Lines to print.

    Raises:
        AssistantError: as :func:`run_reflect`, or bad input to ``/remember``.
    """
    from assistant.memory.editing import remember

    if command.name == "help":
        return command_help().splitlines()
    if command.name == "reflect":
        from assistant.cli.jobs import run_reflect

        return run_reflect(settings, thread_id)
    if command.name == "remember":
        with Runtime(settings) as runtime:
            done = remember(runtime.memories, command.argument, thread_id=thread_id)
        verb = {"created": "Remembered", "updated": "Updated", "known": "Already known"}
        return [f"{verb[done.status]} ({done.memory.kind}): {done.memory.render()}  [{done.key}]"]
    hint = {
        "forget": "/forget asks before it deletes: use it in the TUI (`assistant`).",
        "incognito": "Use `assistant chat --incognito TEXT` to make a conversation private.",
        "memories": "/memories opens the memory pane of the TUI (`assistant`); here, use "
        "`assistant memories list` or `assistant memories search QUERY`.",
    }
    default = f"/{command.name} works in the TUI (`assistant`); see `assistant --help`."
    raise InputError(hint.get(command.name, default))
