"""Where the assistant keeps its files, on platformdirs.

Defaults follow each platform's conventions (XDG on Linux). The data directory
can be overridden with ``--data-dir`` / ``ASSISTANT_DATA_DIR``; the config file
with ``--config`` / ``ASSISTANT_CONFIG``. Directories are created readable by
the user alone (mode 0o700), files with mode 0o600.
"""

import os
from pathlib import Path

import platformdirs

from assistant.errors import StorageError

APP_NAME = "assistant"
CONFIG_ENV = "ASSISTANT_CONFIG"


def default_config_file() -> Path:
    """The TOML config file: ``$ASSISTANT_CONFIG`` or ``<user config dir>/config.toml``."""
    if env := os.environ.get(CONFIG_ENV):
        return Path(env).expanduser()
    return platformdirs.user_config_path(APP_NAME) / "config.toml"


def default_data_dir() -> Path:
    """The platform's user data directory, e.g. ``~/.local/share/assistant``."""
    return platformdirs.user_data_path(APP_NAME)


def default_log_dir() -> Path:
    """The platform's user log directory, e.g. ``~/.local/state/assistant/log``."""
    return platformdirs.user_log_path(APP_NAME)


def default_models_dir() -> Path:
    """Where bundled models are joined: the user cache dir, e.g. ``~/.cache/assistant/models``."""
    return platformdirs.user_cache_path(APP_NAME) / "models"


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) if needed and make it mode 0o700.

    Raises:
        StorageError: the directory cannot be created or is not writable.
    """
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.chmod(0o700)
    except OSError as exc:
        raise StorageError(
            f"Cannot use the directory {path}: {exc.strerror or exc}. "
            "Choose another with --data-dir or fix its permissions."
        ) from exc
    if not os.access(path, os.W_OK | os.X_OK):
        raise StorageError(
            f"The directory {path} is not writable. "
            "Choose another with --data-dir or fix its permissions."
        )
    return path
