"""``assistant memories``: list, search, show, add, edit, delete, pin and mute
memories (export, import and reindex are in :mod:`assistant.cli.memory_transfer`)."""

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from assistant.errors import InputError
from assistant.formats import json_line, terminal_safe
from assistant.runtime import Runtime

if TYPE_CHECKING:
    from assistant.memory.repository import Memories, StoredMemory
    from assistant.memory.schemas import MemoryKind

memories = typer.Typer(
    help="See, search, change and export what the assistant remembers.", no_args_is_help=True
)

#: What ``--kind`` takes: the field's words, or the TUI's (fact, experience, rule).
Kind = Literal["semantic", "episodic", "procedural", "fact", "experience", "rule"]
KIND_HELP = "Only this kind: fact (or semantic), experience (or episodic), rule (or procedural)."


@contextmanager
def open_memories(ctx: typer.Context) -> Iterator["Memories"]:
    """The memories of the command's settings, closed (with their runtime) after."""
    with Runtime(ctx.obj.settings) as runtime:
        yield runtime.memories


def _kinds(kind: Kind | None) -> "list[MemoryKind]":
    """The memory kinds ``--kind`` names (every kind when it is not given)."""
    from assistant.memory.schemas import KIND_NAMES, KINDS

    if kind is None:
        return list(KINDS)
    return [next((k for k, word in KIND_NAMES.items() if word == kind), kind)]  # type: ignore[list-item]


def _line(stored: "StoredMemory", *, score: bool = False) -> str:
    """One memory on one line: id, kind, marks (P pinned, M muted, old: history),
    with ``score`` its similarity (``score 0.62``, ``by words`` for a text match
    found without one), and its text."""
    memory = stored.memory
    marks = "".join(
        mark
        for mark, on in (("P", memory.pinned), ("M", memory.muted), ("old", not memory.active))
        if on
    )
    similarity = ""
    if score:
        similarity = "by words    " if stored.score is None else f"score {stored.score:.2f}  "
    line = f"{stored.key[:8]}  {stored.kind:<10} {marks:<5} {similarity}{memory.render()}"
    return terminal_safe(line)


def _echo(found: "Iterable[StoredMemory]", as_json: bool, *, score: bool = False) -> None:
    for stored in found:
        if as_json:
            scored = {"score": stored.score} if score else {}
            typer.echo(json_line({"id": stored.key, **scored, **stored.memory.to_value()}))
        else:
            typer.echo(_line(stored, score=score))


AsJson = Annotated[bool, typer.Option("--json", help="One JSON object per line.")]
KindOption = Annotated[
    Kind | None, typer.Option("--kind", "-k", help=KIND_HELP, metavar="KIND", show_choices=False)
]


@memories.command("list")
def list_memories(
    ctx: typer.Context,
    kind: KindOption = None,
    history: Annotated[
        bool, typer.Option("--history", help="Also superseded and retired memories.")
    ] = False,
    as_json: AsJson = False,
) -> None:
    """List memories, newest first (marks: P pinned, M muted, old: history)."""
    with open_memories(ctx) as opened:
        found = [m for k in _kinds(kind) for m in opened.every(k)]
    found = [m for m in found if history or m.memory.active]
    found.sort(key=lambda m: m.memory.updated_at, reverse=True)
    _echo(found, as_json)


@memories.command("search")
def search_memories(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="Words to look for (semantic search).")],
    kind: KindOption = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1)] = 20,
    as_json: AsJson = False,
) -> None:
    """Search memories by meaning, each with its score (cosine similarity).

    Memories that contain the words come first; a memory less similar than the
    search_min_score setting is left out."""
    from assistant.memory.editing import search

    settings = ctx.obj.settings
    with open_memories(ctx) as opened:
        found = search(
            opened, query, _kinds(kind), limit=limit, min_score=settings.search_min_score
        )
    if not found:
        words = " ".join(query.split())
        typer.echo(terminal_safe(f"No memory matches {words!r}."), err=as_json)
        return
    _echo(found, as_json, score=True)


@memories.command("show")
def show_memory(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="The memory's id (or its start).")],
    as_json: AsJson = False,
) -> None:
    """Every field of a memory, where it came from, and its history."""
    from assistant.memory.editing import resolve

    with Runtime(ctx.obj.settings) as runtime:
        opened = runtime.memories
        stored = resolve(opened, key)
        if as_json:
            _echo([stored], True)
            return
        lines = _fields(stored, _title(runtime, stored.memory.provenance.thread_id))
        successor = stored.memory.superseded_by
        if successor and (newer := opened.get(successor)) is not None:
            lines.append(("superseded by", f"{newer.text}  [{successor[:8]}]"))
        for older in opened.every(stored.kind):
            if older.memory.superseded_by == stored.key:
                lines.append(("supersedes", f"{older.text}  [{older.key[:8]}]"))
    for name, value in lines:
        typer.echo(terminal_safe(f"{name}: {value}"))


def _title(runtime: Runtime, thread_id: str | None) -> dict[str, str]:
    """The title of the conversation ``thread_id`` (none when it is gone), by id."""
    if not thread_id:
        return {}
    try:
        return {thread_id: runtime.conversations.get_thread(thread_id).title}
    except InputError:
        return {}


def _fields(stored: "StoredMemory", titles: dict[str, str]) -> list[tuple[str, str]]:
    """What ``memories show`` prints, name and value, as people read them: the
    kind in the TUI's word, the fields that hold something, yes or no for the
    marks, local times, the source as the memory pane says it."""
    from assistant.formats import local_time
    from assistant.memory.catalog import source_label
    from assistant.memory.schemas import KIND_NAMES, content_fields

    memory = stored.memory
    lines = [("id", stored.key), ("kind", f"{KIND_NAMES[stored.kind]} ({stored.kind})")]
    values = memory.model_dump()
    lines += [
        (name.replace("_", " "), str(values[name]))
        for name in content_fields(stored.kind)
        if values[name] not in (None, "")
    ]
    state = "active"
    if memory.superseded_by:
        state = "superseded"
    elif memory.invalid_at is not None:
        state = "retired"
    lines += [
        ("state", state),
        ("pinned", "yes" if memory.pinned else "no"),
        ("muted", "yes" if memory.muted else "no"),
        ("created", local_time(memory.created_at)),
        ("updated", local_time(memory.updated_at)),
        ("valid from", local_time(memory.valid_from)),
    ]
    if memory.invalid_at is not None:
        lines.append(("invalid at", local_time(memory.invalid_at)))
    provenance = memory.provenance
    lines.append(("source", source_label(memory, titles)))
    if provenance.thread_id:
        lines.append(("conversation", provenance.thread_id))
    if provenance.message_ids:
        lines.append(("messages", ", ".join(str(i) for i in provenance.message_ids)))
    return lines


@memories.command("add")
def add_memory(
    ctx: typer.Context,
    text: Annotated[str, typer.Argument(help='What to remember; "rule:" or "fact:" in front.')],
) -> None:
    """Remember TEXT now, as /remember does.

    A restatement updates its twin; a changed fact replaces it, which stays in
    history."""
    from assistant.cli.chat import user_text
    from assistant.memory.editing import remember

    text = user_text(text)
    with open_memories(ctx) as opened:
        done = remember(opened, text)
    verb = {"created": "Remembered", "updated": "Updated", "known": "Already known"}
    line = f"{verb[done.status]} ({done.memory.kind}): {done.memory.render()}  [{done.key}]"
    if done.replaced is not None:
        line += f"\nIt replaces (kept as history): {done.replaced.text}  [{done.replaced.key}]"
    typer.echo(terminal_safe(line))


@memories.command("edit")
def edit_memory(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="The memory's id (or its start).")],
    values: Annotated[
        list[str] | None,
        typer.Option("--set", help="FIELD=VALUE (JSON or plain text); repeat for more."),
    ] = None,
) -> None:
    """Change a memory: with --set FIELD=VALUE, or else in $EDITOR as JSON.

    An invalid change is refused with the reason, and nothing is saved."""
    from assistant.memory.editing import edit, resolve

    with open_memories(ctx) as opened:
        stored = resolve(opened, key)
        if values:
            changes = dict(_assignment(v) for v in values)
        else:
            editable = stored.memory.model_dump(
                mode="json", exclude={"kind", "provenance", "created_at", "updated_at"}
            )
            text = typer.edit(json.dumps(editable, indent=2, ensure_ascii=False), extension=".json")
            if text is None:
                typer.echo("Not changed.")
                return
            try:
                changes = json.loads(text)
            except json.JSONDecodeError as exc:
                raise InputError(f"Not saved: that is not JSON ({exc.msg}).") from exc
            if not isinstance(changes, dict):
                raise InputError("Not saved: the memory must stay a JSON object.")
        saved = edit(opened, stored.key, changes)
    typer.echo(_line(saved))


def _assignment(text: str) -> tuple[str, object]:
    field, equals, raw = text.partition("=")
    if not equals or not field.strip():
        raise InputError(f"--set takes FIELD=VALUE, not {text!r}.")
    try:
        value: object = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return field.strip(), value


@memories.command("rm")
def remove_memory(
    ctx: typer.Context,
    keys: Annotated[list[str], typer.Argument(help="Ids (or their starts) to delete.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask first.")] = False,
) -> None:
    """Delete memories for good (asks first)."""
    from assistant.memory.editing import resolve

    with open_memories(ctx) as opened:
        found = [resolve(opened, key) for key in keys]
        for stored in found:
            typer.echo(_line(stored))
        if not yes and not typer.confirm(f"Delete {len(found)} for good?"):
            typer.echo("Nothing deleted.")
            return
        deleted = opened.delete([s.key for s in found])
    typer.echo(f"Deleted {deleted}.")


def _mark(ctx: typer.Context, key: str, field: str, on: bool) -> None:
    from assistant.memory.editing import edit

    with open_memories(ctx) as opened:
        typer.echo(_line(edit(opened, key, {field: on})))


Off = Annotated[bool, typer.Option("--off", help="Take the mark away.")]
KeyArgument = Annotated[str, typer.Argument(help="The memory's id (or its start).")]


@memories.command("pin")
def pin_memory(ctx: typer.Context, key: KeyArgument, off: Off = False) -> None:
    """Pin a memory: recalled into every turn, whatever is asked."""
    _mark(ctx, key, "pinned", not off)


@memories.command("mute")
def mute_memory(ctx: typer.Context, key: KeyArgument, off: Off = False) -> None:
    """Mute a memory: kept and shown, never recalled."""
    _mark(ctx, key, "muted", not off)
