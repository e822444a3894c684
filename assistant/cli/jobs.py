"""``assistant reflect``, ``jobs`` and ``daemon``: reflection now, the pending
reflections, and background reflection without the TUI."""

import logging
import os
import threading
from datetime import UTC, datetime
from typing import Annotated

import typer

from assistant.cli.notices import note_once
from assistant.config import Settings
from assistant.errors import AssistantError, InputError
from assistant.formats import json_line, local_time, terminal_safe
from assistant.reflection.journal import ReflectionResult
from assistant.runtime import Runtime


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
    """Reflect now: turn new messages into memories.

    By default every conversation with messages not reflected on yet.
    """
    if sum((thread is not None, due, every)) > 1:
        raise InputError("Give one of --thread, --due and --all.")
    for line in run_reflect(ctx.obj.settings, thread, due_only=due):
        typer.echo(terminal_safe(line))


def jobs(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """List pending reflections with their due times, and who runs them."""
    for line in list_jobs(ctx.obj.settings, as_json=as_json):
        typer.echo(terminal_safe(line))


def daemon(ctx: typer.Context) -> None:
    """Run background reflection without the TUI, until Ctrl+C or SIGTERM.

    For people who chat from the CLI, or want reflection while the TUI is closed.
    """
    import signal

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    if run_daemon(ctx.obj.settings, stop):
        logging.shutdown()  # as the TUI does: never wait for a reflection in progress
        os._exit(0)


def run_reflect(settings: Settings, thread_id: str | None, *, due_only: bool = False) -> list[str]:
    """Reflect now on ``thread_id``, or on every thread with unreflected messages
    (``due_only``: only those whose quiet period is over, as the scheduler would).

    Returns:
        One line per thread: its id, title and what reflection did.

    Raises:
        AssistantError: the store, the model or the thread is unavailable, or a
            reflection failed (after the others ran).
    """
    with Runtime(settings) as runtime:
        store = runtime.conversations
        threads = [store.get_thread(thread_id)] if thread_id else store.list_threads()
        due = [t for t in threads if thread_id or store.unreflected(t.id)]
        if due_only:
            now, schedule = datetime.now(UTC), runtime.scheduler()
            due = [t for t in due if (when := schedule.due_time(t.id)) is not None and when <= now]
        if not due:
            if due_only:
                return ["Nothing is due: conversations still in their quiet period wait for it."]
            return ["Nothing to reflect on: every conversation is up to date."]
        runtime.memories  # noqa: B018 (the store first: its errors say more than the model's)
        note_once(runtime.settings.data_dir, runtime.choice.notice)
        lines, failed = [], []
        for thread in due:
            result = runtime.manager.reflect(thread.id)
            lines.append(f"{thread.id[:8]}  {thread.title}: {result.summary}")
            if result.status == "failed":
                failed.append(thread.id[:8])
    if failed:
        print(terminal_safe("\n".join(lines)))
        raise AssistantError(
            f"Reflection failed for {', '.join(failed)}; the raw output is in the log. "
            "It runs again with the next message, or with `assistant reflect`."
        )
    return lines


def list_jobs(settings: Settings, *, as_json: bool = False) -> list[str]:
    """The pending reflections, soonest first, and who runs them.

    Due times follow from the conversation database (the last message plus the
    quiet period, capped by the maximum wait, after any failure's backoff): what
    the scheduler owner's reconcile gives every job.

    Returns:
        Lines to print: one per pending reflection (JSON objects with ``as_json``),
        then, in text, who runs them.
    """

    with Runtime(settings) as runtime:
        return _jobs(runtime, as_json=as_json)


def _jobs(runtime: Runtime, *, as_json: bool) -> list[str]:
    from assistant.scheduler import countdown

    store, scheduler = runtime.conversations, runtime.scheduler()
    now = datetime.now(UTC)
    lines = []
    for job in scheduler.pending():
        thread = store.get_thread(job.thread_id)
        if as_json:
            row = {"thread_id": thread.id, "title": thread.title, "due": job.due.isoformat()}
            lines.append(json_line(row))
        else:
            when = local_time(job.due)
            clock = countdown(job.due, now)
            left = f"in {clock}" if clock else "due now"
            lines.append(f"{thread.id[:8]}  {when}  {left:<12} {thread.title}")
    if as_json:
        return lines
    if not lines:
        lines.append("No reflection pending: every conversation is up to date.")
    if scheduler.owned_elsewhere():
        lines.append(
            "Background reflection runs in another assistant (a TUI or `assistant daemon`)."
        )
    else:
        lines.append(
            "No assistant is running: due reflections run when `assistant` or "
            "`assistant daemon` starts (or now, with `assistant reflect --due`)."
        )
    return lines


def run_daemon(settings: Settings, stop: threading.Event) -> bool:
    """Run background reflection and the nightly consolidation until ``stop`` is set.

    Prints one line when it starts and one per job. A daemon that is not the owner
    (a TUI or another daemon runs the jobs) waits and takes over when that one
    ends. The model and the memories are loaded at the first job, so a waiting
    daemon costs little.

    Returns:
        Whether a reflection was still running when it stopped (it was left to
        end with the process and runs again later).

    Raises:
        AssistantError: the conversation database or the job store cannot be opened.
    """
    runtime = Runtime(settings)  # the model and the memories open at the first job
    store = runtime.conversations
    announced = threading.Event()

    def reflect(thread_id: str) -> ReflectionResult:
        say(f"reflecting on {thread_id[:8]} ({store.get_thread(thread_id).title})")
        if not announced.is_set():
            announced.set()
            say(f"model: {runtime.choice.label} ({runtime.choice.reason})")
        return runtime.manager.reflect(thread_id)

    def reflected(thread_id: str, result: ReflectionResult | BaseException) -> None:
        summary = result.summary if isinstance(result, ReflectionResult) else f"failed: {result}"
        say(f"reflected on {thread_id[:8]}: {summary}")

    scheduler = runtime.scheduler(reflect, runtime.consolidate, reflected)
    owner = scheduler.start()
    say(f"assistant daemon: data in {settings.data_dir}; job log {settings.job_log_path}")
    try:
        while not stop.is_set():
            if owner:
                say("running background reflection; Ctrl+C stops")
            else:
                say("another assistant runs background reflection; waiting to take over")
            while owner == scheduler.owner and not stop.wait(0.5):
                pass
            owner = scheduler.owner
    except KeyboardInterrupt:
        pass
    finally:
        left_running = scheduler.shutdown()
        if not left_running:  # else the store stays open for it until the process ends
            runtime.close()
        say("stopped" + (": the reflection in progress runs again later" if left_running else ""))
    return left_running


def say(line: str) -> None:
    """A daemon line on stdout, timestamped, flushed at once."""
    print(f"{datetime.now().strftime('%H:%M:%S')} {terminal_safe(line)}", flush=True)
    logging.getLogger(__name__).info("daemon: %s", line)
