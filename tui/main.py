"""The ``assistant`` console script: the command line, and the TUI for ``assistant``
alone. The command line (:mod:`assistant.cli`) gets the TUI's launcher from here
and never imports the TUI; Textual loads only when the TUI opens."""

import logging
import os
import sys

from assistant.cli.app import main as run_cli
from assistant.config import Settings
from assistant.runtime import Runtime


def open_tui(settings: Settings) -> None:
    """Run the TUI on a runtime for ``settings``, closing it after the app, unless a
    background reflection is still in a model call or an embedding: then the
    process ends at once rather than wait for it or free the model under it. That
    reflection wrote nothing yet (or its journal completes it), so it runs again."""
    from tui.app import AssistantApp

    runtime = Runtime(settings)
    app = AssistantApp(runtime)
    try:
        app.run()
    finally:
        if not app.left_running:
            runtime.close()
    if app.left_running:
        logging.shutdown()
        sys.stdout.flush()
        os._exit(0)


def main() -> None:
    """Entry point of the console script."""
    run_cli(open_tui)
