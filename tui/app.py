"""The assistant TUI: conversations on the left, the chat on the right.

The app only wires widgets to the core. Loading the model (blocking: probe,
llama.cpp) runs in a thread worker; streaming a reply runs in an async worker,
so the screen stays responsive while the model writes. Errors end up in one
``on_worker_state_changed`` and are shown as notifications and notes, never as
a traceback.

Background reflection (:mod:`assistant.scheduler`) starts once the model and the
memories are loaded: each reply (re)schedules its conversation, the status bar
counts down to the reflection of the conversation on screen, and results come
back as :class:`ReflectionDone` messages. Replies hold the model gate, so a
reflection gives way to them; quitting never waits for one.
"""

import logging
from collections.abc import Iterable
from contextlib import aclosing, suppress
from datetime import datetime
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Markdown, Static
from textual.worker import Worker, WorkerState

from assistant.commands import Command, command_help, parse_command
from assistant.errors import AssistantError
from assistant.runtime import Runtime
from tui.messages import BackendFailed, BackendReady, ReflectionDone
from tui.screens.dialogs import ConfirmScreen, PromptScreen
from tui.screens.memories import MemoryScreen, OpenSource
from tui.widgets.chat import ChatLog, Composer, MemoriesUsed, MemoryLink, MessageView
from tui.widgets.sidebar import ThreadItem, ThreadList

if TYPE_CHECKING:
    from assistant.memory.repository import Memories, StoredMemory
    from assistant.reflection.manager import MemoryManager
    from assistant.scheduler import ReflectionScheduler
    from assistant.session import ChatSession

log = logging.getLogger(__name__)


class AssistantApp(App[None]):
    """Chat with a local model; conversations persist in the runtime's database.

    Args:
        runtime: the assistant's parts (:class:`assistant.runtime.Runtime`; tests
            give it fake loaders, or ``with_memories=False``).
    """

    CSS_PATH = "app.tcss"
    TITLE = "assistant"
    BINDINGS = [
        Binding("ctrl+n", "new_thread", "New", priority=True),
        Binding("f2", "rename_thread", "Rename"),
        Binding("f8", "delete_thread", "Delete"),
        Binding("f4", "toggle_incognito", "Incognito"),
        Binding("f3", "memories", "Memories"),
        Binding("f5", "reflect", "Reflect"),
        Binding("escape", "stop_reply", "Stop reply"),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    def __init__(self, runtime: Runtime) -> None:
        """The app on ``runtime``'s parts (it opens the model and the memories in a
        worker; the caller closes the runtime once the app has ended)."""
        super().__init__()
        self.runtime = runtime
        self.settings = runtime.settings
        self.store = runtime.conversations
        self.session: ChatSession | None = None  # set once the model is loaded
        self.backend_error: str | None = None
        self.thread_id: str | None = None
        self._reply_view: MessageView | None = None
        self.memories: Memories | None = None  # set once the store is open
        self.memory_error: str | None = None
        self.new_thread_incognito = False  # for the conversation not saved yet
        self._private: dict[str, bool] = {}  # incognito, read once per thread
        self.manager: MemoryManager | None = None  # reflects with the chat model
        self.scheduler: ReflectionScheduler | None = None  # background reflection
        self.left_running = False  # a reflection was still running at quit
        self._due: datetime | None = None  # the on-screen thread's reflection
        self._asked: set[str] = set()  # threads whose reflection the user asked for
        self._reply_thread: str | None = None
        self._reply_started = False  # the reply on its way has its first token

    def compose(self) -> ComposeResult:
        # The first screen is complete in one pass: the latest conversation is open.
        threads = self.store.list_threads()
        self.thread_id = threads[0].id if threads else None
        messages = self.store.messages(self.thread_id) if self.thread_id else []
        yield Static("Loading the model…", id="status", markup=False)
        with Horizontal(id="main"):
            items = [ThreadItem(thread) for thread in threads]
            yield ThreadList(*items, id="sidebar", initial_index=0 if items else None)
            with Vertical(id="chat"):
                yield ChatLog(*ChatLog.views(messages), id="log")
                yield Composer(id="composer", placeholder="Message (Enter sends)")
        yield Footer()

    def on_unmount(self) -> None:
        """Quit at once: a reflection in progress stops at its next token or is
        left to end with the process; pending jobs stay in the job store."""
        if self.session is not None:
            self.session.gate.close()
        if self.scheduler is not None:
            self.left_running = self.scheduler.shutdown()

    def on_mount(self) -> None:
        self.query_one(ChatLog).scroll_end(animate=False)
        self.query_one(Composer).focus()
        self.call_after_refresh(self.load_model)
        self.set_interval(1.0, self._tick)

    # The model -------------------------------------------------------------

    @work(thread=True, exit_on_error=False, group="backend")
    def load_model(self) -> None:
        runtime = self.runtime
        try:
            runtime.model  # noqa: B018 (loads it: Ollama is probed, llama.cpp reads the file)
        except AssistantError as exc:
            self.post_message(BackendFailed(str(exc)))
            return
        except Exception as exc:
            log.exception("loading the model failed")
            self.post_message(BackendFailed(f"Loading the model failed ({exc!r}); see the log."))
            return
        recall = None
        if runtime.with_memories:
            try:
                self.memories = runtime.memories
                recall = runtime.recall()
            except AssistantError as exc:
                self.memory_error = str(exc)
                log.warning("memories are off: %s", exc)
        session = runtime.session(recall)
        if self.memories is not None:
            self._start_scheduler(session)
        self.post_message(BackendReady(session))
        if self.memories is not None:
            self._warm_up(self.memories)

    @staticmethod
    def _warm_up(memories: "Memories") -> None:
        """Read one memory of each kind, so that the first recall and the memory
        pane's first page do not wait for Chroma to load its segments."""
        from assistant.memory.schemas import KINDS

        with suppress(AssistantError):
            for kind in KINDS:
                memories.listing(kind, limit=1)

    def _start_scheduler(self, session: "ChatSession") -> None:
        """Background reflection with the chat model (in the loading worker thread)."""
        assert self.memories is not None
        runtime = self.runtime
        self.manager = runtime.manager  # the session's model and gate
        scheduler = runtime.scheduler(self.manager.reflect, runtime.consolidate, self._reflected)
        try:
            owner = scheduler.start()
        except AssistantError as exc:
            log.warning("background reflection is off: %s", exc)
            self.call_from_thread(
                self.notify, f"{exc} Use /reflect.", title="No background reflection"
            )
            return
        self.scheduler = scheduler
        if not owner:
            self.call_from_thread(
                self.notify,
                "Another assistant (a window or `assistant daemon`) reflects in the "
                "background for this data; this one leaves it to that one.",
                title="Background reflection",
            )

    def _reflected(self, thread_id: str, result: object) -> None:
        """The scheduler's ``on_result`` (its worker thread): hand over to the UI."""
        asked = thread_id in self._asked
        self._asked.discard(thread_id)
        self.post_message(ReflectionDone(thread_id, result, asked))

    @on(BackendReady)
    def _backend_ready(self, event: BackendReady) -> None:
        self.session = event.session
        choice = event.session.choice
        self._set_status()
        if choice.notice:
            title = "Using the embedded model" if choice.backend == "local" else "Ollama"
            self.notify(choice.notice, title=title, severity="warning", timeout=20)
        if self.memory_error:
            self.notify(self.memory_error, title="Memories are off", severity="warning", timeout=20)
        log.info("backend %s (%s)", choice.label, choice.reason)

    @on(BackendFailed)
    def _backend_failed(self, event: BackendFailed) -> None:
        self.backend_error = event.error
        self.query_one("#status", Static).update(f"No model: {event.error}")
        self.notify(event.error, title="No chat model", severity="error", timeout=30)
        log.error("no backend: %s", event.error)

    def _set_status(self, activity: str = "") -> None:
        if self.session is None:
            return
        choice = self.session.choice
        quality = " (demo quality)" if choice.demo_quality else ""
        text = f"● {choice.label}{quality}"
        if self.incognito:
            text = f"{text}   incognito: nothing remembered"
        if not activity and self._replying and self._reply_thread == self.thread_id:
            activity = "writing…" if self._reply_started else "thinking…"
        if not activity:
            activity = self._reflection_state()
        self.query_one("#status", Static).update(f"{text}   {activity}".rstrip())

    def _reflection_state(self) -> str:
        """ "reflecting…", "reflection in 9:41", or nothing, for the thread on screen."""
        running = self.scheduler.running if self.scheduler is not None else None
        if self._reflecting or (running is not None and running == self.thread_id):
            return "reflecting…"
        if self._due is None or self.incognito:
            return ""
        from assistant.scheduler import countdown

        clock = countdown(self._due)
        return f"reflection in {clock}" if clock else "reflection due"

    def _tick(self) -> None:
        """Every second: the countdown to the on-screen thread's reflection."""
        if self.scheduler is not None:
            self.read_due(self.thread_id)

    @work(thread=True, exit_on_error=False, group="scheduling")
    def read_due(self, thread_id: str | None) -> None:
        """The job store and the database are read off the event loop."""
        assert self.scheduler is not None
        due = self.scheduler.due(thread_id) if thread_id else None
        self.call_from_thread(self._show_due, thread_id, due)

    def _show_due(self, thread_id: str | None, due: datetime | None) -> None:
        if thread_id == self.thread_id:
            self._due = due
            self._set_status()

    @work(thread=True, exit_on_error=False, group="scheduling")
    def schedule_reflection(self, thread_id: str) -> None:
        """After a reply: (re)schedule the thread's reflection (debounce)."""
        assert self.scheduler is not None
        due = self.scheduler.submit(thread_id)
        self.call_from_thread(self._show_due, thread_id, due)

    @on(ReflectionDone)
    def _reflection_done(self, event: ReflectionDone) -> None:
        from assistant.llm.gate import Preempted

        self._set_status()
        result = event.result
        written = [c.key for c in getattr(result, "changes", ())]
        for screen in self.screen_stack:
            if isinstance(screen, MemoryScreen) and written:
                screen.refresh_keys(written)
        title = "Reflection"
        if event.thread_id != self.thread_id:  # say which conversation it was
            with suppress(AssistantError):  # unless deleted since
                title = f"Reflection · {self.store.get_thread(event.thread_id).title}"
        if isinstance(result, Preempted):
            if event.asked:
                self.notify(
                    "Paused for your message; it runs again when the chat is quiet.", title=title
                )
        elif isinstance(result, BaseException):
            message = (
                str(result) if isinstance(result, AssistantError) else f"{result!r}; see the log"
            )
            self.notify(message, title=f"{title} failed", severity="error", timeout=15)
        else:
            status = getattr(result, "status", "")
            summary = getattr(result, "summary", str(result))
            if status == "failed":
                self.notify(summary, title=title, severity="error", timeout=15)
            elif event.asked:
                self.notify(
                    summary if status != "nothing" else "nothing new to reflect on", title=title
                )
            elif status == "applied" and getattr(result, "changes", ()):
                self.notify(summary, title=title)

    # Conversations ---------------------------------------------------------

    async def open_thread(self, thread_id: str | None) -> None:
        """Show ``thread_id`` (or an empty new conversation) and highlight it in the sidebar."""
        self.thread_id = thread_id
        self.new_thread_incognito = False
        self._due = None
        if self.scheduler is not None:
            self.read_due(thread_id)
        messages = self.store.messages(thread_id) if thread_id else []
        await self.query_one(ChatLog).show(messages)
        self.query_one(ThreadList).highlight(thread_id)
        self._set_status()

    async def refresh_threads(self) -> None:
        await self.query_one(ThreadList).show(self.store.list_threads(), self.thread_id)

    @on(ThreadList.Opened)
    async def _thread_opened(self, event: ThreadList.Opened) -> None:
        if event.thread_id != self.thread_id:
            await self.open_thread(event.thread_id)
        self.query_one(Composer).focus()

    async def action_new_thread(self) -> None:
        """Start a conversation; it is saved when its first message is sent."""
        await self.open_thread(None)
        self.query_one(Composer).focus()

    def action_rename_thread(self) -> None:
        if self.thread_id is None:
            self.notify("Send a message first: this conversation is not saved yet.")
            return
        thread = self.store.get_thread(self.thread_id)

        async def rename(title: str | None) -> None:
            if title is None:
                return
            try:
                self.store.rename_thread(thread.id, title)
            except AssistantError as exc:
                self.notify(str(exc), severity="error")
            await self.refresh_threads()

        self.push_screen(PromptScreen("Rename the conversation:", thread.title), rename)

    def action_delete_thread(self) -> None:
        if self.thread_id is None:
            return
        if self._replying:
            self.notify("A reply is being written: press Esc to stop it first.")
            return
        thread = self.store.get_thread(self.thread_id)

        async def delete(confirmed: bool | None) -> None:
            if not confirmed:
                return
            self.store.delete_thread(thread.id)
            self.notify(f"Deleted “{thread.title}”.")
            await self.refresh_threads()
            remaining = self.store.list_threads(limit=1)
            await self.open_thread(remaining[0].id if remaining else None)

        question = f"Delete “{thread.title}” and all its messages? This cannot be undone."
        self.push_screen(ConfirmScreen(question), delete)

    # Replies ---------------------------------------------------------------

    @property
    def _replying(self) -> bool:
        return any(w.group == "reply" and w.is_running for w in self.workers)

    @on(Composer.Submitted)
    async def send(self, event: Composer.Submitted) -> None:
        """Send the composer's text in the current conversation, or run its command."""
        try:
            parsed = parse_command(event.text)
        except AssistantError as exc:
            self.notify(str(exc), severity="error")
            return
        if isinstance(parsed, Command):
            if await self.run_command(parsed):
                self.query_one(Composer).take(event.text)
            return
        if self.session is None:
            problem = self.backend_error or "The model is still loading."
            self.notify(f"{problem} Your text stays in the box.", severity="warning")
            return
        if self._replying:
            self.notify("Wait for the reply to finish, or press Esc to stop it.")
            return
        try:
            text = self.session.check_message(parsed)
            self._save_new_thread()
        except AssistantError as exc:
            self.notify(str(exc), severity="error")
            return
        self.query_one(Composer).take(event.text)
        chat = self.query_one(ChatLog)
        await chat.add(MessageView("user", text))
        author = f"Assistant · {self.session.choice.model}"
        self._reply_view = await chat.add(MessageView("assistant", author=author))
        assert self.thread_id is not None
        self._reply_thread, self._reply_started = self.thread_id, False
        self._set_status("thinking…")  # until the first token
        self.stream_reply(self.thread_id, text, self._reply_view)

    def _save_new_thread(self) -> str:
        """The current thread's id, saving the new conversation first if need be.

        Raises:
            StorageError: the database cannot be written.
        """
        if self.thread_id is None:
            thread = self.store.create_thread()
            if self.new_thread_incognito:
                self.store.set_incognito(thread.id, True)
            self.thread_id, self.new_thread_incognito = thread.id, False
        return self.thread_id

    @work(exclusive=True, group="reply", exit_on_error=False)
    async def stream_reply(self, thread_id: str, text: str, view: MessageView) -> None:
        from assistant.session import (
            MemoriesRecalled,
            ReplyFinished,
            ReplyToken,
            RulesSaved,
            UserMessageSaved,
        )

        assert self.session is not None
        stream = Markdown.get_stream(view.markdown)
        chat = self.query_one(ChatLog)
        finished = None
        try:
            async with aclosing(self.session.send(thread_id, text)) as events:
                async for event in events:
                    if isinstance(event, UserMessageSaved):
                        await self.refresh_threads()
                    elif isinstance(event, RulesSaved):
                        saved = " ".join(event.rules)
                        self.notify(
                            f"{saved} (applies from this reply on)",
                            title="Rule saved",
                            markup=False,
                        )
                    elif isinstance(event, MemoriesRecalled):
                        if event.error:
                            self.notify(event.error, title="No memories this turn", timeout=10)
                        used = event.context.memories
                        if used and view.is_attached:
                            await view.show_memories([m.key for m in used], [m.text for m in used])
                    elif isinstance(event, ReplyToken) and view.is_attached:
                        if not self._reply_started:
                            self._reply_started = True
                            self._set_status()
                        await stream.write(event.text)
                        chat.scroll_end(animate=False)
                    elif isinstance(event, ReplyFinished):
                        finished = event.message
        finally:
            await stream.stop()
        if finished is not None and finished.error and view.is_attached:
            # Stopped by the repetition guard: show the reply as saved, loop cut off.
            await view.markdown.update(finished.content)
            view.set_note(finished.error, "stopped")

    def action_stop_reply(self) -> None:
        """Stop the reply being written; what was written so far is kept."""
        self.workers.cancel_group(self, "reply")

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        groups = ("memories", "reflection", "scheduling")
        if event.worker.group in groups and event.state == WorkerState.ERROR:
            log.error("%s failed", event.worker.name, exc_info=event.worker.error)
            message = f"Unexpected error: {event.worker.error!r}. Details are in the log."
            self.notify(message, title="Memories", severity="error", timeout=15)
            self._set_status()
            return
        if event.worker.group != "reply" or not event.worker.is_finished:
            return
        view, self._reply_view = self._reply_view, None
        if view is not None and not view.is_attached:  # another conversation is open
            view = None
        if self.scheduler is not None and self._reply_thread is not None:
            self.schedule_reflection(self._reply_thread)  # whatever the reply's fate
        self._set_status()
        if event.state == WorkerState.CANCELLED and view is not None:
            view.set_note("Stopped. The partial reply is saved.", "stopped")
        elif event.state == WorkerState.ERROR:
            error = event.worker.error
            if isinstance(error, AssistantError):
                message = str(error)
            else:
                log.error("reply failed", exc_info=error)
                message = f"Unexpected error: {error!r}. Details are in the log."
            if view is not None:
                view.set_note(message)
            self.notify(message, title="The reply failed", severity="error", timeout=15)

    @on(MemoriesUsed.Expanded)
    def _memories_expanded(self, event: MemoriesUsed.Expanded) -> None:
        """A saved reply's memories are looked up when first shown."""
        widget = event.collapsible
        if isinstance(widget, MemoriesUsed) and widget.texts is None:
            self.look_up_memories(widget)

    @work(thread=True, exit_on_error=False, group="memories")
    def look_up_memories(self, widget: MemoriesUsed) -> None:
        """Read the texts of a reply's memories (Chroma blocks: off the event loop)."""
        texts = []
        for key in widget.keys:
            found = self.memories.get(key) if self.memories else None
            texts.append(found.text if found else "(deleted since)")
        self.call_from_thread(widget.show, texts)

    #: Actions on the conversation on screen: off while another screen is on top.
    CHAT_ACTIONS = frozenset(
        {"new_thread", "rename_thread", "delete_thread", "toggle_incognito", "reflect"}
    )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The chat's keys do nothing (and leave the footer) over the memory pane
        and dialogs."""
        return not (action in self.CHAT_ACTIONS and len(self.screen_stack) > 1)

    # The memory pane -------------------------------------------------------

    def action_memories(self, select: str | None = None) -> None:
        """Open the memory pane (F3, ``/memories``), on the memory ``select`` if given."""
        if self.memories is None:
            problem = self.memory_error or "The memory store is still opening."
            self.notify(problem, title="Memories are off", severity="warning")
            return
        if any(isinstance(screen, MemoryScreen) for screen in self.screen_stack):
            return
        pane = MemoryScreen(self.memories, self.store, thread_id=self.thread_id, select=select)
        self.push_screen(pane)

    @on(MemoryLink.Clicked)
    def _memory_clicked(self, event: MemoryLink.Clicked) -> None:
        self.action_memories(select=event.key)

    @on(OpenSource)
    async def _open_source(self, event: OpenSource) -> None:
        """From the pane: the conversation a memory came from, at its message."""
        while len(self.screen_stack) > 1:
            await self.pop_screen()
        await self.open_thread(event.thread_id)
        if event.message_id is None:
            return
        views = self.query(f"#message-{event.message_id}")
        if not views:
            self.notify("That message has been deleted since.")
            return
        view = views.first()
        self.query_one(ChatLog).scroll_to_widget(view, animate=False, top=True)
        view.add_class("found")
        self.set_timer(4, lambda: view.remove_class("found"))

    # Slash commands and incognito ----------------------------------------

    async def run_command(self, command: Command) -> bool:
        """Run a slash command typed in the composer; ``False``: it could not start
        (the text stays in the box)."""
        if command.name == "help":
            self.notify(command_help(), title="Commands", timeout=20)
        elif command.name == "incognito":
            self.action_toggle_incognito()
        elif self.memories is None:
            problem = self.memory_error or "The memory store is still opening."
            self.notify(problem, title="Memories are off", severity="warning")
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

    @property
    def incognito(self) -> bool:
        """Whether the conversation on screen is private."""
        if self.thread_id is None:
            return self.new_thread_incognito
        if self.thread_id not in self._private:  # not every second (the status line)
            self._private[self.thread_id] = self.store.get_thread(self.thread_id).incognito
        return self._private[self.thread_id]

    def action_toggle_incognito(self) -> None:
        """Make the conversation on screen private (nothing in it remembered, no
        memories recalled into it), or not."""
        private = not self.incognito
        try:
            if self.thread_id is None:
                self.new_thread_incognito = private
            else:
                self.store.set_incognito(self.thread_id, private)
                self._private[self.thread_id] = private
        except AssistantError as exc:
            self.notify(str(exc), severity="error")
            return
        if private:
            self.notify(
                "Nothing said here is remembered, and no memories are recalled into it.",
                title="Incognito",
            )
        else:
            self.notify(
                "Memories are recalled again; what was said in private stays forgotten.",
                title="Incognito off",
            )
        self._set_status()
        self.call_later(self.refresh_threads)

    @work(thread=True, exit_on_error=False, group="memories")
    def remember_memory(self, text: str, thread_id: str | None) -> None:
        """``/remember``: save a memory now (embedding blocks: a thread worker)."""
        from assistant.memory.editing import remember
        from assistant.memory.schemas import KIND_NAMES

        assert self.memories is not None
        try:
            done = remember(self.memories, text, thread_id=thread_id)
        except AssistantError as exc:
            self.call_from_thread(self.notify, str(exc), severity="error")
            return
        title = {"created": "Remembered", "updated": "Updated", "known": "Already known"}
        self.call_from_thread(
            self.notify,
            f"{done.memory.render()} ({KIND_NAMES[done.memory.kind]})",
            title=title[done.status],
        )

    @work(thread=True, exit_on_error=False, group="memories")
    def find_memories_to_forget(self, text: str) -> None:
        """``/forget``: find the matching memories, then ask before deleting them."""
        from assistant.memory.editing import find_to_forget

        assert self.memories is not None
        try:
            found = find_to_forget(self.memories, text)
        except AssistantError as exc:
            self.call_from_thread(self.notify, str(exc), severity="error")
            return
        if not found:
            self.call_from_thread(self.notify, f"No memory matches “{text}”.")
            return
        self.call_from_thread(self._confirm_forget, found)

    def _confirm_forget(self, found: "list[StoredMemory]") -> None:
        lines = [f"• {m.text}{'' if m.memory.active else '  (old version)'}" for m in found]
        noun = "this memory" if len(found) == 1 else f"these {len(found)} memories"
        question = f"Forget {noun} for good?\n\n" + "\n".join(lines)

        def answered(confirmed: bool | None) -> None:
            if confirmed:
                self.forget_memories([m.key for m in found])

        self.push_screen(ConfirmScreen(question, confirm="Forget"), answered)

    @work(thread=True, exit_on_error=False, group="memories")
    def forget_memories(self, keys: list[str]) -> None:
        assert self.memories is not None
        try:
            deleted = self.memories.delete(keys)
        except AssistantError as exc:
            self.call_from_thread(self.notify, str(exc), severity="error")
            return
        noun = "memory" if deleted == 1 else "memories"
        self.call_from_thread(self.notify, f"Forgot {deleted} {noun}.", title="Forgotten")

    @property
    def _reflecting(self) -> bool:
        return any(w.group == "reflection" and w.is_running for w in self.workers)

    def action_reflect(self) -> bool:
        """Reflect on the conversation on screen now (F5, ``/reflect``): through the
        scheduler when this process runs it (one reflection at a time), else in a
        worker. It waits while a reply is written. ``False`` if it cannot start."""
        if self.session is None or self.manager is None:
            problem = self.backend_error or self.memory_error or "The model is still loading."
            self.notify(problem, title="Cannot reflect", severity="warning")
            return False
        if self.thread_id is None:
            self.notify("Nothing to reflect on yet: this conversation is empty.")
            return True
        if self._reflecting or self.thread_id in self._asked:
            self.notify("Already reflecting on this conversation.")
            return True
        self._asked.add(self.thread_id)
        if self.scheduler is not None and self.scheduler.owner:
            self.scheduler.submit(self.thread_id, after_seconds=0)
        else:
            self.reflect_thread(self.thread_id)
        self._set_status("reflecting…")
        return True

    @work(thread=True, exclusive=True, exit_on_error=False, group="reflection")
    def reflect_thread(self, thread_id: str) -> None:
        """Reflection calls the model and the store: a thread worker, off the UI loop."""
        from assistant.llm.gate import Preempted

        assert self.manager is not None
        try:
            result: object = self.manager.reflect(thread_id)
        except (AssistantError, Preempted) as exc:
            result = exc
        self._reflected(thread_id, result)

    # Command palette -------------------------------------------------------

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("New conversation", "Start a new conversation", self.action_new_thread)
        yield SystemCommand("Rename conversation", "Rename this one", self.action_rename_thread)
        yield SystemCommand(
            "Delete conversation", "Delete this one (asks first)", self.action_delete_thread
        )
        yield SystemCommand("Stop reply", "Stop the reply being written", self.action_stop_reply)
        yield SystemCommand(
            "Incognito", "Make this conversation private, or not", self.action_toggle_incognito
        )
        yield SystemCommand("Reflect", "Reflect on this conversation now", self.action_reflect)
        yield SystemCommand(
            "Memories", "Browse, search and edit what is remembered", self.action_memories
        )
        yield SystemCommand("Backend", "Which model answers, and why", self._show_backend)

    def _show_backend(self) -> None:
        if self.session is None:
            self.notify("The model is still loading.")
            return
        choice = self.session.choice
        self.notify(f"{choice.label}: {choice.reason}.\n{choice.notice or ''}".strip())
