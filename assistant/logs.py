"""File logging: ``<log_dir>/assistant.log``, rotated, readable by the user alone."""

import logging
from logging.handlers import RotatingFileHandler
from pathlib import Path

from assistant.paths import ensure_private_dir

LOG_FILE = "assistant.log"


def setup_logging(log_dir: Path, level: int = logging.INFO) -> Path:
    """Send the ``assistant`` and ``tui`` loggers to a rotating file (1 MB x 3).

    Returns:
        The log file's path.

    Raises:
        StorageError: the log directory cannot be created.
    """
    ensure_private_dir(log_dir)
    path = log_dir / LOG_FILE
    handler = RotatingFileHandler(path, maxBytes=1_000_000, backupCount=3, encoding="utf-8")
    path.chmod(0o600)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for name in ("assistant", "tui"):
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.handlers[:] = [handler]
        logger.propagate = False
    return path
