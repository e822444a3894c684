"""File logging: ``<log_dir>/assistant.log``, rotated, readable by the user alone;
and the job log, ``<log_dir>/jobs.log``: one JSON object per background job."""

import json
import logging
from logging.handlers import RotatingFileHandler
from pathlib import Path

from assistant.errors import StorageError
from assistant.paths import ensure_private_dir

LOG_FILE = "assistant.log"


def setup_logging(log_dir: Path, level: int = logging.INFO) -> Path:
    """Send the ``assistant`` and ``tui`` loggers to a rotating file (1 MB x 3).

    Returns:
        The log file's path.

    Raises:
        StorageError: the log directory cannot be created, or the log file cannot
            be written (a read-only data dir, a full disk).
    """
    ensure_private_dir(log_dir)
    path = log_dir / LOG_FILE
    try:
        handler = RotatingFileHandler(path, maxBytes=1_000_000, backupCount=3, encoding="utf-8")
        path.chmod(0o600)
    except OSError as exc:
        raise StorageError(
            f"Cannot write the log file {path}: {exc.strerror or exc}. Make {log_dir} "
            "writable, free some disk space, or set log_dir (or --data-dir) elsewhere."
        ) from exc
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for name in ("assistant", "tui"):
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.handlers[:] = [handler]
        logger.propagate = False
    return path


def job_logger(path: Path) -> logging.Logger:
    """A logger that writes each record's message as one line of ``path`` (rotated,
    1 MB x 3, readable by the user alone), and nowhere else.

    Raises:
        StorageError: the directory cannot be created.
    """
    ensure_private_dir(path.parent)
    logger = logging.getLogger(f"assistant.jobs.{path}")
    if not logger.handlers:
        handler = RotatingFileHandler(path, maxBytes=1_000_000, backupCount=3, encoding="utf-8")
        path.chmod(0o600)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return logger


def log_job(logger: logging.Logger, **fields: object) -> None:
    """Write one job record (JSON; values that are not JSON become strings)."""
    logger.info(json.dumps(fields, default=str, ensure_ascii=False))
