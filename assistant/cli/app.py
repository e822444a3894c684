"""The ``assistant`` command (Typer): global options and the subcommands.

``assistant`` alone opens the TUI through the launcher :func:`main` is given
(:mod:`tui.main`); each subcommand lives in its own module of this package.
Exit codes: 0 ok, 1 an error (one line on stderr), 2 a usage error, 130
interrupted.
"""

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from assistant import __version__
from assistant.cli import chat, doctor, jobs, memory_transfer
from assistant.cli.launch import guarded, load_settings
from assistant.cli.memories import memories
from assistant.cli.models import models
from assistant.cli.threads import import_conversations, threads
from assistant.config import Backend, Settings
from assistant.errors import InputError
from assistant.paths import default_config_file

log = logging.getLogger(__name__)

cli = typer.Typer(
    add_completion=True,
    no_args_is_help=False,
    help=(
        "A local-first personal assistant for the terminal that remembers. "
        "`assistant` alone opens the chat (the TUI); the commands below work without it."
    ),
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
    settings = load_settings(config, **overrides)
    config = config or default_config_file()
    open_tui = ctx.obj  # what main() was given: the TUI's launcher, or None
    ctx.obj = Context(settings, config)
    if ctx.invoked_subcommand is None:
        if open_tui is None:
            raise InputError("This install has no TUI; run a command (`assistant --help`).")
        open_tui(settings, config)


cli.command()(chat.chat)
cli.add_typer(threads, name="threads")
cli.command("import")(import_conversations)
cli.command()(doctor.doctor)
cli.command()(jobs.reflect)
cli.command()(jobs.jobs)
cli.command()(jobs.daemon)
cli.add_typer(models, name="models")
memories.command("export")(memory_transfer.export_memories)
memories.command("import")(memory_transfer.import_memories)
memories.command("reindex")(memory_transfer.reindex)
cli.add_typer(memories, name="memories")


def main(open_tui: Callable[[Settings, Path], None] | None = None) -> None:
    """Run the command line; ``open_tui(settings, config_file)`` opens the TUI for ``assistant``
    alone. The console script is :func:`tui.main.main`, which hands it over: the
    command line never imports the TUI itself."""
    guarded(lambda: cli(obj=open_tui))
