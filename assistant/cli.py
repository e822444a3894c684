"""The ``assistant`` command: the composition root of the app.

``assistant`` opens the TUI; subcommands work headless. Built on Typer (Click).
Exit codes: 0 ok, 1 an error (one line on stderr), 2 a usage error, 130 interrupted.
"""

import asyncio
import json
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from assistant import __version__
from assistant.config import Backend, Settings
from assistant.conversations import ConversationStore
from assistant.errors import AssistantError, InputError
from assistant.paths import default_config_file

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
    """``--model``: an Ollama model name, or a path to a ``.gguf`` file (embedded backend)."""
    if model is None:
        return {}
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
        typer.Option("--model", help="Ollama model name, or a path to a .gguf file."),
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
        store = ConversationStore(settings.database_path)
        from assistant.memory.factory import open_memories
        from tui.app import AssistantApp

        app = AssistantApp(settings, store, memory_loader=open_memories)
        app.run()
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
    store = ConversationStore(ctx.obj.settings.database_path)
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
            when = thread.updated_at.astimezone().strftime("%Y-%m-%d %H:%M")
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


memories = typer.Typer(help="Look after the memory store.", no_args_is_help=True)
cli.add_typer(memories, name="memories")


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
