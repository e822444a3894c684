"""``assistant memories export``, ``import`` and ``reindex``: memories in and out
of JSON Lines (or Markdown), and embedded again. Registered on the
``memories`` group by :mod:`assistant.cli.app`."""

import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Annotated, Literal

import typer

from assistant.cli.memories import open_memories
from assistant.cli.output import write_out
from assistant.errors import InputError
from assistant.formats import json_safe, terminal_safe
from assistant.runtime import Runtime


def export_memories(
    ctx: typer.Context,
    file: Annotated[Path | None, typer.Argument(help="Write here (default: stdout).")] = None,
    fmt: Annotated[
        Literal["jsonl", "markdown"], typer.Option("--format", "-f", help="jsonl or markdown.")
    ] = "jsonl",
) -> None:
    """Write every memory (history included) as JSON Lines (for import) or Markdown."""
    from assistant.memory.transfer import export_lines, stored_memories

    with open_memories(ctx) as opened:
        everything = stored_memories(opened)
    # JSON Lines decode to the same memories; Markdown is read, so its text is shown.
    safe = json_safe if fmt == "jsonl" else terminal_safe
    text = "".join(f"{safe(line)}\n" for line in export_lines(everything, fmt))
    if write_out(text, file):
        typer.echo(terminal_safe(f"Exported {len(everything)} memories to {file}."), err=True)


def import_memories(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A JSON Lines export; '-' reads stdin.")],
) -> None:
    """Add the memories of an export (JSON Lines), duplicates merged.

    The file is checked whole first (nothing changes if a line is wrong), control
    characters are removed, and it is written in chunks with progress on stderr."""
    from assistant.memory.transfer import FileLines, import_lines

    lines: Iterable[str]
    if str(file) == "-":
        try:
            lines = sys.stdin.read().splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"Cannot read stdin: {exc}.") from exc
    else:
        if not file.is_file():
            raise InputError(f"Cannot read {file}: no such file.")
        lines = FileLines(file)
    with open_memories(ctx) as opened:
        report = import_lines(opened, lines, progress=_progress("Importing", "lines"))
    typer.echo(f"Imported from {file}: {report.summary}.")


def _progress(label: str, unit: str) -> "Callable[[int, int | None], None]":
    """Shows progress on stderr ("Importing: 1,200 of 5,000 lines"): one line
    rewritten on a terminal, else a line per tenth (per 1,000 when the total is
    not known)."""
    tty = sys.stderr.isatty()
    shown = [-1]

    def show(done: int, total: int | None = None) -> None:
        of = f" of {total:,}" if total is not None else ""
        line = f"{label}: {done:,}{of} {unit}"
        if tty:
            end = "\n" if total is not None and done >= total else ""
            sys.stderr.write(f"\r{line}{end}")
            sys.stderr.flush()
            return
        step = done * 10 // max(total, 1) if total is not None else done // 1000
        if step > shown[0]:
            shown[0] = step
            sys.stderr.write(f"{line}\n")

    return show


def reindex(
    ctx: typer.Context,
    force: Annotated[
        bool, typer.Option("--force", help="Embed again even with the same embedder.")
    ] = False,
) -> None:
    """Embed every memory again with the configured embedder (after changing it).

    Conversation search is brought up to date too (with --force, built again from
    the conversations).
    """
    from assistant.memory.factory import open_store

    store = open_store(ctx.obj.settings, check_embedder=False)
    try:
        name, dims = store.recorded_embedder
        if store.recorded_embedder == store.embedder and not force:
            typer.echo(f"Memories are already embedded with {name} ({dims} dims); nothing to do.")
        else:
            show = _progress("Re-embedding", "memories")
            done = store.reindex(store.index_config, embedder_name=store.embedder[0], progress=show)
            if sys.stderr.isatty():
                sys.stderr.write("\n")
            typer.echo(
                f"Re-embedded {done} memories with {store.embedder[0]} ({store.embedder[1]} "
                f"dims); they were embedded with {name} ({dims} dims)."
            )
    finally:
        store.close()
    if ctx.obj.settings.conversation_search:
        from rich.console import Console

        with (
            Runtime(ctx.obj.settings) as runtime,
            Console(stderr=True).status("Indexing the conversations for search…"),
        ):
            index = runtime.recall().past
            assert index is not None
            indexed = index.rebuild() if force else index.sync()
        typer.echo(f"Conversation search: {indexed} messages indexed.")
