"""One error path for workers: a failed worker becomes one notification titled
by the work that failed (the worker's name: ``@work(name="Saving the memory")``).

Each screen handles ``Worker.StateChanged`` (posted to the node that ran the
worker, without bubbling) by calling :func:`tell_failure`; workers let their
errors rise instead of catching them.
"""

import logging

from textual.worker import Worker, WorkerState

from assistant.errors import AssistantError

log = logging.getLogger(__name__)


def failure_line(work: str, error: BaseException | None) -> str:
    """One line for people: an :class:`AssistantError`'s message (it says what to
    do); anything else a short line, logged with its traceback as ``work`` failing."""
    if isinstance(error, AssistantError):
        return str(error)
    log.error("%s failed", work, exc_info=error)
    return f"Unexpected error: {error!r}. Details are in the log."


def tell_failure(event: Worker.StateChanged) -> str | None:
    """Notify a worker's failure on the node that ran it, titled "<name> failed".

    Returns:
        The line told, or ``None`` when the worker did not fail (another state).
    """
    if event.state != WorkerState.ERROR:
        return None
    worker = event.worker
    message = failure_line(worker.name, worker.error)
    worker.node.notify(
        message, title=f"{worker.name} failed", severity="error", timeout=15, markup=False
    )
    return message
