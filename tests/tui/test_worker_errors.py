"""One error path for workers: a failure is one notification titled by the work
that failed, an AssistantError's message as it is, anything else a short line
(logged with its traceback); never "Memories" for everything. Real Chroma,
scheduler and job store; the failures are injected into the real objects."""

import logging

import pytest

from assistant.errors import StorageError
from tests.tui.test_app import SIZE, settle, type_and_send
from tests.tui.test_background_reflection import wait_for
from tests.tui.test_memory_commands import make_app, notices
from tests.tui.test_memory_pane import SISTER, open_pane, seeded, select


async def test_a_failed_write_is_titled_by_its_work(
    settings, memory_loader, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(settings, memory_loader, [])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.memories is not None

        def full(*args, **kwargs):
            raise StorageError("The memory store is full. Free some disk space.")

        monkeypatch.setattr(app.memories, "put", full)
        await type_and_send(pilot, "/remember my locker code is 4471")
        await settle(pilot)
        assert "Remembering failed: The memory store is full. Free some disk space." in (
            notices(app)
        )
        assert not any(n.startswith("Memories:") for n in notices(app))


async def test_a_scheduling_failure_is_not_called_memories(
    settings, memory_loader, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    app = make_app(settings, memory_loader, ["Nice dog!"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.scheduler is not None

        def locked(*args, **kwargs):
            raise RuntimeError("database is locked")

        monkeypatch.setattr(app.scheduler, "submit", locked)
        with caplog.at_level(logging.ERROR, logger="tui"):
            await type_and_send(pilot, "My dog is called Fido.")
            await settle(pilot)
        line = "Unexpected error: RuntimeError('database is locked'). Details are in the log."
        assert f"Scheduling the reflection failed: {line}" in notices(app)
        assert not any(n.startswith("Memories:") for n in notices(app))
        # Logged with its traceback, for the log file.
        [record] = [r for r in caplog.records if "Scheduling the reflection" in r.getMessage()]
        assert record.exc_info is not None


async def test_an_undo_that_fails_can_be_tried_again(
    settings, memory_loader, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(settings, memory_loader, [])
    async with app.run_test(size=SIZE) as pilot:
        await seeded(pilot, settings)
        screen = await open_pane(pilot)
        await select(pilot, screen, SISTER)
        await pilot.press("d")
        await pilot.click("#confirm")
        await settle(pilot)
        assert app.memories is not None and app.memories.get(SISTER) is None

        memories = app.memories
        put = memories.put

        def once(*args, **kwargs):
            monkeypatch.setattr(memories, "put", put)
            raise StorageError("The memory store is read-only.")

        monkeypatch.setattr(memories, "put", once)
        await pilot.press("u")
        await wait_for(pilot, lambda: any("Restoring the memory failed" in n for n in notices(app)))
        await settle(pilot)
        assert memories.get(SISTER) is None
        await pilot.press("u")  # still on the undo list
        await settle(pilot)
        assert memories.get(SISTER) is not None
        assert screen.selected_key() == SISTER
