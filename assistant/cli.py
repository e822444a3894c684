"""The ``assistant`` command: the composition root of the app.

``assistant`` opens the TUI; subcommands work headless. Built on Typer (Click).
Exit codes: 0 ok, 1 an error (one line on stderr), 2 a usage error, 130 interrupted.
"""

import asyncio
import json
import logging
import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from assistant import __version__
from assistant.cli_models import models
from assistant.config import Backend, Settings
from assistant.conversations import ConversationStore
from assistant.errors import AssistantError, InputError
from assistant.formats import local_time
from assistant.paths import default_config_file
from assistant.runtime import Runtime

if TYPE_CHECKING:
    from assistant.memory.memories import Memories, StoredMemory

log = logging.getLogger(__name__)

cli = typer.Typer(
    add_completion=False,
    no_args_is_help=False,
    help="A local-first personal assistant for the terminal that remembers.",
    context_settings={"help_option_names": ["-h", "--help"]},
)


@dataclass
class Context:
    """What the global options give every subcommand."""

    settings: Settings
    config_file: Path


def _version(value: bool) -> None:
    if value:
        typer.echo(f"assistant {__version__}")
        raise typer.Exit()


def model_overrides(model: str | None) -> dict[str, object]:
    """``--model``: a bundled model (``default``, ``small``, ``tiny``), an Ollama model
    name, or a path to a ``.gguf`` file; the first and the last mean the embedded backend."""
    if model is None:
        return {}
    if model in ("default", "small", "tiny"):
        return {"local_model": model, "backend": "local"}
    if model.endswith(".gguf") or os.sep in model:
        return {"local_model_path": Path(model), "backend": "local"}
    return {"ollama_model": model}


@cli.callback(invoke_without_command=True)
def main_options(
    ctx: typer.Context,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="Keep all data here (env ASSISTANT_DATA_DIR)."),
    ] = None,
    backend: Annotated[
        Backend | None,
        typer.Option("--backend", help="auto, ollama or local (env ASSISTANT_BACKEND)."),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model", help="default, small or tiny (bundled), an Ollama model, or a .gguf file."
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", help="TOML config file (env ASSISTANT_CONFIG)."),
    ] = None,
    _: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Chat with a local model that remembers. Without a command, opens the TUI."""
    overrides: dict[str, object] = {"data_dir": data_dir, "backend": backend}
    overrides |= model_overrides(model)
    config = config or default_config_file()
    settings = Settings.load(config, **overrides)
    from assistant.logs import setup_logging

    setup_logging(settings.log_dir)  # type: ignore[arg-type]
    ctx.obj = Context(settings, config)
    if ctx.invoked_subcommand is None:
        from tui.app import AssistantApp

        runtime = Runtime(settings)
        app = AssistantApp(runtime)
        try:
            app.run()
        finally:
            if not app.left_running:
                runtime.close()
        if app.left_running:
            # A background reflection is still in a model call or an embedding:
            # end now rather than wait for it or free the model under it. It
            # wrote nothing yet (or its journal completes it), so it runs again.
            logging.shutdown()
            sys.stdout.flush()
            os._exit(0)


@cli.command()
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
    from assistant.commands import Command, parse_command
    from assistant.headless import run_chat, run_command

    if thread and new:
        raise InputError("Give either --thread or --new, not both.")
    if text == "-":
        text = sys.stdin.read()
    settings: Settings = ctx.obj.settings
    parsed = parse_command(text)
    if isinstance(parsed, Command):
        for line in run_command(settings, parsed, thread):
            typer.echo(line)
        return
    try:
        asyncio.run(run_chat(settings, parsed, thread_id=thread, new=new, incognito=incognito))
    except KeyboardInterrupt:
        typer.echo("\nStopped. Your message and the partial reply are saved.", err=True)
        raise typer.Exit(130) from None


@cli.command()
def threads(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """List conversations, most recent first."""
    with Runtime(ctx.obj.settings) as runtime:
        _list_threads(runtime.conversations, as_json)


def _list_threads(store: ConversationStore, as_json: bool) -> None:
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
            typer.echo(json.dumps(row))
        else:
            when = local_time(thread.updated_at)
            typer.echo(f"{thread.id[:8]}  {when}  {count:>4} msgs  {thread.title}")


@cli.command()
def doctor(ctx: typer.Context) -> None:
    """Report the backend that would be used and why, paths, versions, and problems."""
    from assistant.headless import diagnose

    report = diagnose(ctx.obj.settings, ctx.obj.config_file)
    typer.echo(report.text)
    if report.problems:
        raise typer.Exit(1)


@cli.command()
def reflect(
    ctx: typer.Context,
    thread: Annotated[
        str | None, typer.Option("--thread", "-t", help="Only this conversation (id).")
    ] = None,
    due: Annotated[
        bool, typer.Option("--due", help="Only conversations whose quiet period is over.")
    ] = False,
    every: Annotated[
        bool,
        typer.Option("--all", help="Every conversation with new messages (the default)."),
    ] = False,
) -> None:
    """Reflect now: turn new messages into memories (default: every conversation
    with messages not reflected on yet)."""
    from assistant.headless import run_reflect

    if sum((thread is not None, due, every)) > 1:
        raise InputError("Give one of --thread, --due and --all.")
    for line in run_reflect(ctx.obj.settings, thread, due_only=due):
        typer.echo(line)


@cli.command()
def jobs(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """List pending reflections with their due times, and who runs them."""
    from assistant.headless import list_jobs

    for line in list_jobs(ctx.obj.settings, as_json=as_json):
        typer.echo(line)


@cli.command()
def daemon(ctx: typer.Context) -> None:
    """Run background reflection without the TUI, until Ctrl+C or SIGTERM (for
    people who chat from the CLI, or want reflection while the TUI is closed)."""
    import signal
    import threading

    from assistant.headless import run_daemon

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    if run_daemon(ctx.obj.settings, stop):
        logging.shutdown()  # as the TUI does: never wait for a reflection in progress
        os._exit(0)


cli.add_typer(models, name="models")

memories = typer.Typer(
    help="See, search, change and export what the assistant remembers.", no_args_is_help=True
)
cli.add_typer(memories, name="memories")

Kind = Literal["semantic", "episodic", "procedural"]


@contextmanager
def _memories(ctx: typer.Context) -> Iterator["Memories"]:
    with Runtime(ctx.obj.settings) as runtime:
        yield runtime.memories


def _line(stored: "StoredMemory") -> str:
    memory = stored.memory
    marks = "".join(
        mark
        for mark, on in (("P", memory.pinned), ("M", memory.muted), ("old", not memory.active))
        if on
    )
    return f"{stored.key[:8]}  {stored.kind:<10} {marks:<5} {memory.render()}"


def _echo(found: "Iterable[StoredMemory]", as_json: bool) -> None:
    for stored in found:
        if as_json:
            typer.echo(
                json.dumps({"id": stored.key, **stored.memory.to_value()}, ensure_ascii=False)
            )
        else:
            typer.echo(_line(stored))


AsJson = Annotated[bool, typer.Option("--json", help="One JSON object per line.")]
KindOption = Annotated[Kind | None, typer.Option("--kind", "-k", help="Only this kind.")]


@memories.command("list")
def list_memories(
    ctx: typer.Context,
    kind: KindOption = None,
    history: Annotated[
        bool, typer.Option("--history", help="Also superseded and retired memories.")
    ] = False,
    as_json: AsJson = False,
) -> None:
    """List memories, newest first (marks: P pinned, M muted, old: history)."""
    from assistant.memory.schemas import KINDS

    with _memories(ctx) as opened:
        found = [m for k in ([kind] if kind else KINDS) for m in opened.every(k)]
    found = [m for m in found if history or m.memory.active]
    found.sort(key=lambda m: m.memory.updated_at, reverse=True)
    _echo(found, as_json)


@memories.command("search")
def search_memories(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="Words to look for (semantic search).")],
    kind: KindOption = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1)] = 20,
    as_json: AsJson = False,
) -> None:
    """Search memories by meaning; text that contains the words comes first."""
    from assistant.memory.editing import search
    from assistant.memory.schemas import KINDS

    with _memories(ctx) as opened:
        _echo(search(opened, query, [kind] if kind else KINDS, limit=limit), as_json)


@memories.command("show")
def show_memory(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="The memory's id (or its start).")],
    as_json: AsJson = False,
) -> None:
    """Every field of a memory, where it came from, and its history."""
    from assistant.memory.editing import resolve

    with _memories(ctx) as opened:
        stored = resolve(opened, key)
        if as_json:
            _echo([stored], True)
            return
        typer.echo(f"id: {stored.key}")
        for field, value in stored.memory.model_dump(mode="json").items():
            typer.echo(f"{field}: {value}")
        successor = stored.memory.superseded_by
        if successor and (newer := opened.get(successor)) is not None:
            typer.echo(f"superseded by: {newer.text}  [{successor[:8]}]")
        for older in opened.every(stored.kind):
            if older.memory.superseded_by == stored.key:
                typer.echo(f"supersedes: {older.text}  [{older.key[:8]}]")


@memories.command("add")
def add_memory(
    ctx: typer.Context,
    text: Annotated[str, typer.Argument(help='What to remember; "rule:" or "fact:" in front.')],
) -> None:
    """Remember TEXT now, as /remember does (a restatement updates its twin)."""
    from assistant.memory.editing import remember

    with _memories(ctx) as opened:
        done = remember(opened, text)
    verb = {"created": "Remembered", "updated": "Updated", "known": "Already known"}
    typer.echo(f"{verb[done.status]} ({done.memory.kind}): {done.memory.render()}  [{done.key}]")


@memories.command("edit")
def edit_memory(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="The memory's id (or its start).")],
    values: Annotated[
        list[str] | None,
        typer.Option("--set", help="FIELD=VALUE (JSON or plain text); repeat for more."),
    ] = None,
) -> None:
    """Change a memory: with --set FIELD=VALUE, or else in $EDITOR as JSON. An
    invalid change is refused with the reason and nothing is saved."""
    from assistant.memory.editing import edit, resolve

    with _memories(ctx) as opened:
        stored = resolve(opened, key)
        if values:
            changes = dict(_assignment(v) for v in values)
        else:
            editable = stored.memory.model_dump(
                mode="json", exclude={"kind", "provenance", "created_at", "updated_at"}
            )
            text = typer.edit(json.dumps(editable, indent=2, ensure_ascii=False), extension=".json")
            if text is None:
                typer.echo("Not changed.")
                return
            try:
                changes = json.loads(text)
            except json.JSONDecodeError as exc:
                raise InputError(f"Not saved: that is not JSON ({exc.msg}).") from exc
            if not isinstance(changes, dict):
                raise InputError("Not saved: the memory must stay a JSON object.")
        saved = edit(opened, stored.key, changes)
    typer.echo(_line(saved))


def _assignment(text: str) -> tuple[str, object]:
    field, equals, raw = text.partition("=")
    if not equals or not field.strip():
        raise InputError(f"--set takes FIELD=VALUE, not {text!r}.")
    try:
        value: object = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return field.strip(), value


@memories.command("rm")
def remove_memory(
    ctx: typer.Context,
    keys: Annotated[list[str], typer.Argument(help="Ids (or their starts) to delete.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask first.")] = False,
) -> None:
    """Delete memories for good (asks first)."""
    from assistant.memory.editing import resolve

    with _memories(ctx) as opened:
        found = [resolve(opened, key) for key in keys]
        for stored in found:
            typer.echo(_line(stored))
        if not yes and not typer.confirm(f"Delete {len(found)} for good?"):
            typer.echo("Nothing deleted.")
            return
        deleted = opened.delete([s.key for s in found])
    typer.echo(f"Deleted {deleted}.")


def _mark(ctx: typer.Context, key: str, field: str, on: bool) -> None:
    from assistant.memory.editing import edit

    with _memories(ctx) as opened:
        typer.echo(_line(edit(opened, key, {field: on})))


Off = Annotated[bool, typer.Option("--off", help="Take the mark away.")]
KeyArgument = Annotated[str, typer.Argument(help="The memory's id (or its start).")]


@memories.command("pin")
def pin_memory(ctx: typer.Context, key: KeyArgument, off: Off = False) -> None:
    """Pin a memory: recalled into every turn, whatever is asked."""
    _mark(ctx, key, "pinned", not off)


@memories.command("mute")
def mute_memory(ctx: typer.Context, key: KeyArgument, off: Off = False) -> None:
    """Mute a memory: kept and shown, never recalled."""
    _mark(ctx, key, "muted", not off)


@memories.command("export")
def export_memories(
    ctx: typer.Context,
    file: Annotated[Path | None, typer.Argument(help="Write here (default: stdout).")] = None,
    fmt: Annotated[
        Literal["jsonl", "markdown"], typer.Option("--format", "-f", help="jsonl or markdown.")
    ] = "jsonl",
) -> None:
    """Write every memory (history included) as JSON Lines (for import) or Markdown."""
    from assistant.memory.transfer import export_lines, stored_memories

    with _memories(ctx) as opened:
        everything = stored_memories(opened)
    text = "".join(f"{line}\n" for line in export_lines(everything, fmt))
    if file is None:
        sys.stdout.write(text)
        return
    try:
        file.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"Cannot write {file}: {exc.strerror or exc}.") from exc
    typer.echo(f"Exported {len(everything)} memories to {file}.", err=True)


@memories.command("import")
def import_memories(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A JSON Lines export; '-' reads stdin.")],
) -> None:
    """Add the memories of an export: validated whole first (nothing changes if a line
    is wrong), duplicates merged, written all at once."""
    from assistant.memory.transfer import import_lines

    try:
        text = sys.stdin.read() if str(file) == "-" else file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"Cannot read {file}: {exc}.") from exc
    with _memories(ctx) as opened:
        report = import_lines(opened, text.splitlines())
    typer.echo(f"Imported from {file}: {report.summary}.")


@memories.command()
def reindex(
    ctx: typer.Context,
    force: Annotated[
        bool, typer.Option("--force", help="Embed again even with the same embedder.")
    ] = False,
) -> None:
    """Embed every memory again with the configured embedder (after changing it)."""
    from assistant.memory.factory import open_store

    store = open_store(ctx.obj.settings, check_embedder=False)
    try:
        name, dims = store.recorded_embedder
        if store.recorded_embedder == store.embedder and not force:
            typer.echo(f"Memories are already embedded with {name} ({dims} dims); nothing to do.")
            return
        done = store.reindex(store.index_config, embedder_name=store.embedder[0])
        typer.echo(
            f"Re-embedded {done} memories with {store.embedder[0]} ({store.embedder[1]} dims); "
            f"they were embedded with {name} ({dims} dims)."
        )
    finally:
        store.close()


def main() -> None:
    """Entry point of the console script."""
    os.umask(0o077)  # every file we create is readable by the user alone
    try:
        cli()
    except AssistantError as exc:
        log.error("%s", exc)
        typer.echo(f"error: {exc}", err=True)
        sys.exit(1)
