"""``assistant threads`` (list, export) and ``assistant import``: conversations
listed, written out as JSON Lines, and brought in from ChatGPT or JSON Lines."""

import sys
from pathlib import Path
from typing import Annotated, Literal

import typer

from assistant.cli.output import write_out
from assistant.conversations import ConversationStore
from assistant.errors import AssistantError, InputError
from assistant.formats import json_line, local_time, terminal_safe
from assistant.runtime import Runtime

threads = typer.Typer(
    help="List conversations, most recent first; export them.", invoke_without_command=True
)


@threads.callback()
def list_threads(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """List conversations, most recent first (or export them: `threads export`)."""
    if ctx.invoked_subcommand is not None:
        return
    with Runtime(ctx.obj.settings) as runtime:
        _list(runtime.conversations, as_json)


def _list(store: ConversationStore, as_json: bool) -> None:
    for thread in store.list_threads():
        count = store.count_messages(thread.id)
        if as_json:
            row = {
                "id": thread.id,
                "title": thread.title,
                "updated_at": thread.updated_at.isoformat(),
                "messages": count,
                "backend": thread.backend,
                "model": thread.model,
            }
            typer.echo(json_line(row))
        else:
            when = local_time(thread.updated_at)
            typer.echo(f"{thread.id[:8]}  {when}  {count:>4} msgs  {terminal_safe(thread.title)}")


@threads.command("export")
def export_threads(
    ctx: typer.Context,
    file: Annotated[Path | None, typer.Argument(help="Write here (default: stdout).")] = None,
) -> None:
    """Write every conversation as JSON Lines, one message per line (for `assistant import`)."""
    from assistant.history import export_history

    with Runtime(ctx.obj.settings) as runtime:
        lines = list(export_history(runtime.conversations))
    text = "".join(f"{line}\n" for line in lines)
    if write_out(text, file):
        typer.echo(f"Exported {len(lines)} messages to {file}.", err=True)


def import_conversations(
    ctx: typer.Context,
    file: Annotated[
        Path, typer.Argument(help="ChatGPT's conversations.json, or JSON Lines; '-' reads stdin.")
    ],
    fmt: Annotated[
        Literal["auto", "chatgpt", "jsonl"],
        typer.Option("--format", "-f", help="auto (by the first character), chatgpt or jsonl."),
    ] = "auto",
) -> None:
    """Bring in past conversations with their dates, from ChatGPT or JSON Lines.

    FILE is ChatGPT's conversations.json (its data export) or JSON Lines with
    {thread, role, content, timestamp} per line, as `threads export` writes. It is
    checked whole first (nothing changes if anything is wrong); a second import
    adds nothing. Reflection then goes through them in the background.
    """
    from assistant.history import import_history

    try:
        text = sys.stdin.read() if str(file) == "-" else file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"Cannot read {file}: {exc}.") from exc
    settings = ctx.obj.settings
    with Runtime(settings) as runtime:
        report = import_history(runtime.conversations, text, None if fmt == "auto" else fmt)
        typer.echo(f"Imported from {terminal_safe(str(file))}: {report.summary}.")
        if not report.new_messages:
            return
        if settings.conversation_search:
            _index(runtime)
    typer.echo(
        "Reflection reads them in the background while `assistant` or `assistant daemon` "
        "runs (see `assistant jobs`), or now: `assistant reflect`."
    )


def _index(runtime: Runtime) -> None:
    """Make the imported messages searchable now, with a spinner on stderr."""
    from rich.console import Console

    try:
        with Console(stderr=True).status("Indexing for conversation search…"):
            done = runtime.recall().index_new()
    except AssistantError as exc:
        typer.echo(
            f"note: not searchable yet ({exc}); `assistant memories reindex` does it later.",
            err=True,
        )
        return
    typer.echo(f"Conversation search: {done} messages indexed.", err=True)
