"""Background reflection in the TUI: the countdown in the status bar, the result
notified, F5, a quit that does not wait, a restart that picks the job up, and a
second window that leaves the jobs to the first. The real scheduler, job store,
Chroma and MiniLM; the chat model is scripted."""

import sys
import time
from pathlib import Path

from assistant.config import Settings
from assistant.scheduler import ReflectionScheduler
from tests.memory.conftest import fact, judged
from tests.tui.test_app import SIZE, settle, type_and_send
from tests.tui.test_memory_commands import make_app, notices, texts
from tui.widgets.status import StatusBar

FIDO = judged((fact("The user's dog is called Fido."), "create", ""))


def status(app) -> str:
    return str(app.query_one("#status", StatusBar).render())


async def wait_for(pilot, condition, seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await pilot.pause(0.05)


def quick(settings: Settings, delay: float) -> Settings:
    return Settings.load(
        data_dir=settings.data_dir, backend="local", reflection_delay_seconds=delay
    )


async def test_the_status_bar_counts_down_then_the_result_is_notified(
    settings, memory_loader
) -> None:
    app = make_app(quick(settings, 2.0), memory_loader, ["Nice dog!", FIDO])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await type_and_send(pilot, "My dog is called Fido.")
        await settle(pilot)
        await wait_for(pilot, lambda: "memories update in 0:0" in status(app))
        await wait_for(pilot, lambda: "Reflection: learned 1" in notices(app))
        assert app.memories is not None
        assert texts(app.memories) == ["The user's dog is called Fido."]
        await wait_for(pilot, lambda: "memor" not in status(app))  # neither due nor updating
    log = (settings.log_dir / "jobs.log").read_text()
    assert '"status": "applied"' in log and '"create": 1' in log


async def test_f5_reflects_at_once(settings, memory_loader) -> None:
    app = make_app(quick(settings, 600), memory_loader, ["Nice dog!", FIDO])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await type_and_send(pilot, "My dog is called Fido.")
        await settle(pilot)
        await wait_for(pilot, lambda: "memories update in 9:5" in status(app))
        await pilot.press("f5")
        await settle(pilot)
        assert "Reflection: learned 1" in notices(app)


async def test_quit_does_not_wait_and_the_job_runs_after_a_restart(settings, memory_loader) -> None:
    app = make_app(quick(settings, 3.0), memory_loader, ["Nice dog!"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await type_and_send(pilot, "My dog is called Fido.")
        await settle(pilot)
        await wait_for(pilot, lambda: "memories update in" in status(app))
        quitting = time.monotonic()
        await pilot.press("ctrl+q")
    assert time.monotonic() - quitting < 1.0
    time.sleep(3.0)  # the job falls due while the app is closed
    again = make_app(quick(settings, 3.0), memory_loader, [FIDO])
    async with again.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "Reflection: learned 1" in notices(again))
        assert again.memories is not None
        assert texts(again.memories) == ["The user's dog is called Fido."]


async def test_a_second_window_leaves_the_jobs_to_the_first(settings, memory_loader) -> None:
    from assistant.conversations import ConversationStore

    conversations = ConversationStore(settings.database_path)
    owner = ReflectionScheduler(
        conversations,
        lambda thread_id: None,
        jobstore_url=settings.jobstore,
        lock_path=settings.scheduler_lock_path,
    )
    assert owner.start()
    try:
        app = make_app(settings, memory_loader, ["Nice dog!", FIDO])
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            assert any("Another assistant" in n for n in notices(app))
            await type_and_send(pilot, "My dog is called Fido.")
            await settle(pilot)
            # It still shows when the owner will reflect, and /reflect still works here.
            await wait_for(pilot, lambda: "memories update in 9:5" in status(app))
            await type_and_send(pilot, "/reflect")
            await settle(pilot)
            assert "Reflection: learned 1" in notices(app)
    finally:
        owner.shutdown()
        conversations.close()


async def test_quitting_while_the_model_loads_starts_no_scheduler(settings, memory_loader) -> None:
    """The model loads in a thread that outlives a quit: once it is loaded, no
    scheduler may start (nothing would shut it down, and it would hold the jobs)."""
    import threading

    from textual import work

    from assistant.runtime import Runtime
    from tests.memory.conftest import ScriptedModel
    from tests.tui.test_memory_commands import CHOICE
    from tui.app import AssistantApp

    entered, go, done = threading.Event(), threading.Event(), threading.Event()

    class Watched(AssistantApp):
        CSS_PATH = Path(sys.modules[AssistantApp.__module__].__file__ or "").with_name("app.tcss")

        @work(thread=True, exit_on_error=False, name="Loading the model")
        def load_model(self) -> None:
            try:
                AssistantApp.load_model.__wrapped__(self)  # the app's own loading
            finally:
                done.set()

    def slow(settings: Settings):
        entered.set()
        go.wait(30)
        return CHOICE, ScriptedModel(replies=[])

    runtime = Runtime(settings, backend_loader=slow, memory_loader=memory_loader)
    app = Watched(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, entered.is_set)
        await pilot.press("ctrl+q")
    go.set()  # the model is loaded after the quit
    assert done.wait(30), "the loading ends"
    assert app.scheduler is None
    # Nothing holds the jobs: another process becomes their owner.
    other = ReflectionScheduler(
        runtime.conversations,
        lambda thread_id: None,
        jobstore_url=settings.jobstore,
        lock_path=settings.scheduler_lock_path,
    )
    try:
        assert other.start()
    finally:
        other.shutdown()
        runtime.close()
