"""SVG snapshots (pytest-textual-snapshot) of the chat, the memory pane, its
detail view and its edit form at fixed terminal sizes (80x24, the smallest
usable, and 120x36, as well as 110x32), with fixed conversations, memories,
keys, times and time zone. Update them with ``pytest tests/tui/test_snapshots.py
--snapshot-update`` after a deliberate change, and look at the SVGs."""

import time
from collections.abc import Iterator
from datetime import timedelta

import pytest

from assistant.config import Settings
from assistant.conversations import ConversationStore
from assistant.memory.repository import Memories
from assistant.memory.schemas import ProceduralMemory, SemanticMemory
from tests.tui.test_app import settle
from tests.tui.test_memory_commands import make_app
from tests.tui.test_memory_pane import DOG, METRIC, ROME, T0, TRIP, at, open_pane, seeded, select
from tui.widgets.chat import Composer, MemoriesUsed

SIZE = (110, 32)
SIZES = [(80, 24), (120, 36)]
#: Facts enough to fill the table at every size (keys after the seeded ones).
MORE_FACTS = [
    "The user's favourite tea is sencha.",
    "The user plays the cello on Sundays.",
    "The user is allergic to peanuts.",
    "The user's birthday is on 3 March.",
    "The user works as a nurse in a children's hospital.",
    "The user prefers trains to planes for trips under six hours.",
    "The user's partner is called Sam.",
    "The user is learning Portuguese for a move to Porto.",
    "The user runs 5 km every morning before work.",
    "The user keeps a vegetable garden with tomatoes and beans.",
]


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Times are shown in local time: make it UTC wherever the tests run."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def reflected(store: ConversationStore, thread_id: str) -> None:
    """Journal ``thread_id`` as reflected on: no reflection runs or counts down."""
    last = store.messages(thread_id)[-1].id
    record = store.record_reflection(thread_id, last, operations="[]")
    assert record is not None
    store.finish_reflection(record.id)


def seed_conversations(settings: Settings) -> None:
    """Three conversations with fixed times, all reflected on, the latest (opened
    at start) with a reply that used two memories (:data:`DOG`, :data:`METRIC`)."""
    store = ConversationStore(settings.database_path)
    old = store.create_thread()
    store.add_message(old.id, "user", "Plan a trip to Lyon", created_at=T0)
    store.rename_thread(old.id, "A trip to Lyon with a day-by-day table of visits")
    other = store.create_thread()
    store.add_message(other.id, "user", "Hi", created_at=T0 + timedelta(days=1))
    store.rename_thread(other.id, "Hello")
    thread = store.create_thread()
    said = [
        ("user", "What should I call my dog's new bed?"),
        ("assistant", "How about **Fido's Den**? It suits a dog called Fido."),
        ("user", "How long is a walk of 3 miles, in your units?"),
    ]
    model = {"backend": "local", "model": "scripted"}
    for i, (role, text) in enumerate(said):
        when = T0 + timedelta(days=2, minutes=i)
        store.add_message(thread.id, role, text, created_at=when, **model)
    store.add_message(
        thread.id,
        "assistant",
        "About **4.8 km**: roughly an hour at an easy pace with Fido.",
        memories_used=[DOG, METRIC],
        created_at=T0 + timedelta(days=2, minutes=3),
        **model,
    )
    store.rename_thread(thread.id, "Names for a dog's bed and walks in metric units")
    for each in (old, other, thread):
        reflected(store, each.id)
    store.close()


def seed_more(memories: Memories) -> None:
    """:data:`MORE_FACTS`, older than the seeded memories, with fixed keys."""
    for i, fact in enumerate(MORE_FACTS):
        key = f"{i + 20:02d}" + "cd" * 15
        memories.put(key, SemanticMemory(subject="the user", fact=fact, **at(-1 - i)))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_chat(snap_compare, settings, memory_loader, size) -> None:
    """Sidebar, messages (Markdown), a reply's memories expanded, composer, footer."""
    seed_conversations(settings)
    app = make_app(settings, memory_loader, [])

    async def run_before(pilot) -> None:
        await settle(pilot)
        memories = pilot.app.memories
        memories.put(DOG, SemanticMemory(subject="dog", fact="The user's dog is Fido.", **at(5)))
        memories.put(METRIC, ProceduralMemory(rule="Answer in metric units.", **at(3)))
        pilot.app.query(MemoriesUsed).last().collapsed = False
        pilot.app.query_one(Composer).cursor_blink = False  # the same frame every time
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_memory_pane_fits(snap_compare, settings, memory_loader, size) -> None:
    """Sixteen memories: as many rows as fit, the detail view below."""
    app = make_app(settings, memory_loader, [])

    async def run_before(pilot) -> None:
        await seeded(pilot, settings)
        seed_more(pilot.app.memories)
        await open_pane(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_the_memory_pane(snap_compare, settings, memory_loader) -> None:
    """Newest first; the superseding fact on top, its history in the detail view."""
    app = make_app(settings, memory_loader, [])

    async def run_before(pilot) -> None:
        await seeded(pilot, settings)
        await open_pane(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_the_detail_view_of_a_replaced_fact(snap_compare, settings, memory_loader) -> None:
    """History shown (h): the old fact, dimmed, and what replaced it."""
    app = make_app(settings, memory_loader, [])

    async def run_before(pilot) -> None:
        await seeded(pilot, settings)
        screen = await open_pane(pilot)
        await pilot.press("h")
        await select(pilot, screen, ROME)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_the_edit_form_of_an_experience(snap_compare, settings, memory_loader) -> None:
    app = make_app(settings, memory_loader, [])

    async def run_before(pilot) -> None:
        await seeded(pilot, settings)
        screen = await open_pane(pilot)
        await select(pilot, screen, TRIP)
        await pilot.press("e")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
