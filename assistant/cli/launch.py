"""What every start of ``assistant`` does, without the command line's parser:
load the settings, set up the log, and turn an :class:`AssistantError` into one
line on stderr and exit code 1.

``assistant`` alone (the TUI) goes through here without importing Typer and the
subcommands (about 50 ms before the first screen: bench/startup.py); every
command goes through :mod:`assistant.cli.app`, which uses the same two steps.
"""

import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path

from assistant.config import Settings
from assistant.errors import AssistantError, InputError
from assistant.formats import terminal_safe
from assistant.paths import default_config_file

log = logging.getLogger(__name__)


def load_settings(config: Path | None = None, **overrides: object) -> Settings:
    """The settings from ``config`` (default: ``ASSISTANT_CONFIG`` or the platform's
    config file), the environment and ``overrides`` (command-line flags; ``None``
    values are left out), with the log file set up.

    Raises:
        InputError: ``config`` was given and is not a file.
        ConfigError: a setting is invalid (one line naming it).
    """
    if config is not None and not config.is_file():
        raise InputError(f"No config file at {config}; give an existing TOML file to --config.")
    settings = Settings.load(config or default_config_file(), **overrides)
    from assistant.logs import setup_logging

    setup_logging(settings.log_dir)  # type: ignore[arg-type]
    return settings


def guarded(run: Callable[[], None]) -> None:
    """Run ``run`` with private files (umask 077); an :class:`AssistantError` ends
    the process with its message on one line of stderr and exit code 1."""
    os.umask(0o077)  # every file we create is readable by the user alone
    try:
        run()
    except AssistantError as exc:
        log.error("%s", exc)
        sys.stderr.write(f"error: {terminal_safe(str(exc))}\n")
        sys.exit(1)
