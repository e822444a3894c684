"""The ``assistant`` console script: the command line, and the TUI for ``assistant``
alone. The command line (:mod:`assistant.cli`) gets the TUI's launcher from here
and never imports the TUI; Textual loads only when the TUI opens. ``assistant``
with no argument at all skips the command line's parser (Typer and every
subcommand) on its way to the first screen."""

import logging
import os
import sys
from pathlib import Path

from assistant.cli.launch import guarded, load_settings
from assistant.config import Settings
from assistant.runtime import Runtime


def open_tui(settings: Settings, config_file: Path | None = None) -> None:
    """Run the TUI on a runtime for ``settings`` (read from ``config_file``, which
    its notices name; default the user's), then end the process at once.

    The runtime is closed after the app (the databases are committed and closed),
    unless a background reflection is still in a model call or an embedding: then
    it is left open rather than freed under that call; such a reflection wrote
    nothing yet (or its journal completes it), so it runs again. Either way the
    process ends with :func:`os._exit` once the logs are flushed: the interpreter's
    own teardown (freeing the model, Chroma's and ONNX's objects) took about 1 s,
    and what a person feels on Ctrl+Q is the shell prompt coming back
    (bench/quit.py). Nothing is lost by it: every message and memory is written
    before, and the libraries' ``atexit`` hooks (tracing executors) have nothing
    of ours to do.
    """
    from tui.app import AssistantApp

    runtime = Runtime(settings)
    app = AssistantApp(runtime, config_file)  # the file its notices name
    try:
        app.run()
    finally:
        if not app.left_running:
            runtime.close()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(app.return_code or 0)


def main() -> None:
    """Entry point of the console script."""
    if len(sys.argv) == 1:  # `assistant` alone: the TUI with the configured settings
        guarded(lambda: open_tui(load_settings()))
        return
    from assistant.cli.app import main as run_cli

    run_cli(open_tui)
