"""The chat's commands on memories: ``/remember``, ``/forget``, ``/memories``
(F3), ``/reflect`` (F5), and how a reflection's end is told.

A mixin of :class:`tui.screens.chat.ChatScreen` (its workers run on that screen,
whose ``Worker.StateChanged`` tells their failures); kept apart so that the
screen's module holds the conversation and its replies.
"""

from contextlib import suppress
from typing import TYPE_CHECKING

from textual import work

from assistant.commands import Command, command_help
from assistant.errors import AssistantError
from assistant.formats import terminal_safe
from tui.messages import ReflectionDone
from tui.notices import notify_plain
from tui.screens.dialogs import ConfirmScreen
from tui.screens.memories import MemoryScreen

if TYPE_CHECKING:
    from textual.app import App
    from textual.notifications import SeverityLevel
    from textual.worker import WorkerManager

    from assistant.conversations import ConversationStore
    from assistant.memory.repository import StoredMemory
    from assistant.reflection.journal import ReflectionResult
    from tui.app import AssistantApp


class MemoryCommands:
    """The commands of the chat screen that read or write memories."""

    if TYPE_CHECKING:  # what the screen gives

        @property
        def app(self) -> "App[object]": ...
        @property
        def assistant(self) -> "AssistantApp": ...
        @property
        def store(self) -> "ConversationStore": ...
        @property
        def workers(self) -> "WorkerManager": ...

        thread_id: str | None

        def notify(
            self,
            message: str,
            *,
            title: str = "",
            severity: "SeverityLevel" = "information",
            timeout: float | None = None,
            markup: bool = True,
        ) -> None: ...
        def action_toggle_incognito(self) -> None: ...
        def _show_state(self) -> None: ...

    async def run_command(self, command: Command) -> bool:
        """Run a slash command typed in the composer; ``False``: it could not start
        (the text stays in the box)."""
        if command.name == "help":
            self.notify(command_help(), title="Commands", timeout=20)
        elif command.name == "incognito":
            self.action_toggle_incognito()
        elif self.assistant.memories is None:
            problem = self.assistant.memory_error or "The memory store is still opening."
            notify_plain(self, problem, title="Memories are off", severity="warning")
            return False
        elif command.name == "remember":
            self.remember_memory(command.argument, self.thread_id)
        elif command.name == "forget":
            self.find_memories_to_forget(command.argument)
        elif command.name == "reflect":
            return self.action_reflect()
        elif command.name == "memories":
            self.action_memories()
        return True

    def action_memories(self, select: str | None = None) -> None:
        """Open the memory pane (F3, ``/memories``), on the memory ``select`` if given."""
        memories = self.assistant.memories
        if memories is None:
            problem = self.assistant.memory_error or "The memory store is still opening."
            notify_plain(self, problem, title="Memories are off", severity="warning")
            return
        if any(isinstance(screen, MemoryScreen) for screen in self.app.screen_stack):
            return
        pane = MemoryScreen(memories, self.store, thread_id=self.thread_id, select=select)
        self.app.push_screen(pane)

    @work(thread=True, exit_on_error=False, group="memories", name="Remembering")
    def remember_memory(self, text: str, thread_id: str | None) -> None:
        """``/remember``: save a memory now (embedding blocks: a thread worker)."""
        from assistant.memory.editing import remember
        from assistant.memory.schemas import KIND_NAMES

        memories = self.assistant.memories
        assert memories is not None
        done = remember(memories, text, thread_id=thread_id)
        title = {"created": "Remembered", "updated": "Updated", "known": "Already known"}
        said = f"{done.memory.render()} ({KIND_NAMES[done.memory.kind]})"
        self.app.call_from_thread(notify_plain, self, said, title=title[done.status])

    @work(thread=True, exit_on_error=False, group="memories", name="Finding what to forget")
    def find_memories_to_forget(self, text: str) -> None:
        """``/forget``: find the matching memories, then ask before deleting them."""
        from assistant.memory.editing import find_to_forget

        memories = self.assistant.memories
        assert memories is not None
        found = find_to_forget(memories, text)
        if not found:
            said = f"No memory matches “{text}”."
            self.app.call_from_thread(notify_plain, self, said)
            return
        self.app.call_from_thread(self._confirm_forget, found)

    def _confirm_forget(self, found: "list[StoredMemory]") -> None:
        lines = [
            f"• {terminal_safe(m.text)}{'' if m.memory.active else '  (old version)'}"
            for m in found
        ]
        noun = "this memory" if len(found) == 1 else f"these {len(found)} memories"
        question = f"Forget {noun} for good?\n\n" + "\n".join(lines)

        def answered(confirmed: bool | None) -> None:
            if confirmed:
                self.forget_memories([m.key for m in found])

        self.app.push_screen(ConfirmScreen(question, confirm="Forget"), answered)

    @work(thread=True, exit_on_error=False, group="memories", name="Deleting memories")
    def forget_memories(self, keys: list[str]) -> None:
        """Delete the memories ``keys`` for good (after the user said so)."""
        memories = self.assistant.memories
        assert memories is not None
        deleted = memories.delete(keys)
        noun = "memory" if deleted == 1 else "memories"
        self.app.call_from_thread(self.notify, f"Forgot {deleted} {noun}.", title="Forgotten")

    @property
    def _reflecting(self) -> bool:
        return any(w.group == "reflection" and w.is_running for w in self.workers)

    def action_reflect(self) -> bool:
        """Reflect on the conversation on screen now (F5, ``/reflect``): through the
        scheduler when this process runs it (one reflection at a time), else in a
        worker. It waits while a reply is written. ``False`` if it cannot start."""
        app = self.assistant
        if app.session is None or app.manager is None:
            problem = app.backend_error or app.memory_error or "The model is still loading."
            notify_plain(self, problem, title="Cannot reflect", severity="warning")
            return False
        if self.thread_id is None:
            self.notify("Nothing to reflect on yet: this conversation is empty.")
            return True
        if self._reflecting or self.thread_id in app.asked:
            self.notify("Already reflecting on this conversation.")
            return True
        app.asked.add(self.thread_id)
        if app.scheduler is not None and app.scheduler.owner:
            app.scheduler.submit(self.thread_id, after_seconds=0)
        else:
            self.reflect_thread(self.thread_id)
        self._show_state()  # reflecting…
        return True

    @work(thread=True, exclusive=True, exit_on_error=False, group="reflection", name="Reflection")
    def reflect_thread(self, thread_id: str) -> None:
        """Reflection calls the model and the store: a thread worker, off the UI loop."""
        from assistant.llm.gate import Preempted

        manager = self.assistant.manager
        assert manager is not None
        result: ReflectionResult | Exception
        try:
            result = manager.reflect(thread_id)
        except (AssistantError, Preempted) as exc:
            result = exc
        except Exception:  # told by the worker's failure, no longer asked for
            self.assistant.asked.discard(thread_id)
            raise
        self.assistant.reflected(thread_id, result)

    def tell_reflection(self, event: ReflectionDone) -> None:
        """Say how a reflection went: a failure always, a result when it was asked
        for or changed something; which conversation, if not the one on screen."""
        from assistant.llm.gate import Preempted

        result = event.result
        title = "Reflection"
        if event.thread_id != self.thread_id:  # say which conversation it was
            with suppress(AssistantError):  # unless deleted since
                title = f"Reflection · {self.store.get_thread(event.thread_id).title}"
        if isinstance(result, Preempted):
            if event.asked:
                notify_plain(
                    self,
                    "Paused for your message; it runs again when the chat is quiet.",
                    title=title,
                )
        elif isinstance(result, Exception):  # the scheduler logged it
            message = (
                str(result) if isinstance(result, AssistantError) else f"{result!r}; see the log"
            )
            notify_plain(self, message, title=f"{title} failed", severity="error", timeout=15)
        elif result.status == "failed":
            notify_plain(self, result.summary, title=title, severity="error", timeout=15)
        elif event.asked:
            summary = result.summary if result.status != "nothing" else "nothing new to reflect on"
            notify_plain(self, summary, title=title)
        elif result.status == "applied" and result.changes:
            notify_plain(self, result.summary, title=title)
