"""The chat screen: conversations on the left, the chat on the right.

Streaming a reply runs in an async worker, so the screen stays responsive while
the model writes; reads and writes of memories run in thread workers, and every
worker's failure is told by one ``Worker.StateChanged`` handler. The status line
counts down to the reflection of the conversation on screen (the job store is
read in a thread worker every second). The commands on memories (``/remember``,
``/forget``, ``/reflect``) live in :mod:`tui.screens.chat_commands`.
"""

from collections.abc import Sequence
from contextlib import aclosing
from datetime import datetime
from typing import TYPE_CHECKING, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Markdown
from textual.worker import Worker, WorkerState

from assistant.commands import Command, parse_command
from assistant.errors import AssistantError
from assistant.formats import local_time
from assistant.memory.recall import RecalledExchange
from tui.messages import ReflectionDone
from tui.screens.chat_commands import MemoryCommands
from tui.screens.dialogs import ConfirmScreen, PromptScreen
from tui.widgets.chat import ChatLog, Composer, MemoriesUsed, MemoryLink, MessageView, PastLink
from tui.widgets.sidebar import ThreadItem, ThreadList
from tui.widgets.status import StatusBar
from tui.workers import tell_failure

if TYPE_CHECKING:
    from assistant.conversations import ConversationStore
    from tui.app import AssistantApp


class ChatScreen(MemoryCommands, Screen[None]):
    """The conversations and the chat; the app's first screen. Its keys are off
    while another screen (the memory pane, a dialog) is on top."""

    BINDINGS = [
        Binding("ctrl+n", "new_thread", "New", priority=True),
        Binding("f2", "rename_thread", "Rename"),
        Binding("f8", "delete_thread", "Delete"),
        Binding("f4", "toggle_incognito", "Incognito"),
        Binding("f3", "memories", "Memories"),
        Binding("f5", "reflect", "Reflect"),
        Binding("escape", "stop_reply", "Stop reply"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.thread_id: str | None = None
        self._reply_view: MessageView | None = None
        self.new_thread_incognito = False  # for the conversation not saved yet
        self._private: dict[str, bool] = {}  # incognito, read once per thread
        self._reply_thread: str | None = None
        self._reply_started = False  # the reply on its way has its first token

    @property
    def assistant(self) -> "AssistantApp":
        """The app, with its parts (session, memories, scheduler)."""
        return cast("AssistantApp", self.app)

    @property
    def store(self) -> "ConversationStore":
        """The conversation database."""
        return self.assistant.store

    def compose(self) -> ComposeResult:
        # The first screen is complete in one pass: the latest conversation is open.
        threads = self.store.list_threads()
        self.thread_id = threads[0].id if threads else None
        messages = self.store.messages(self.thread_id) if self.thread_id else []
        yield StatusBar(id="status")
        with Horizontal(id="main"):
            items = [ThreadItem(thread) for thread in threads]
            yield ThreadList(*items, id="sidebar", initial_index=0 if items else None)
            with Vertical(id="chat"):
                yield ChatLog(*ChatLog.views(messages), id="log")
                yield Composer(id="composer", placeholder="Message (Enter sends)")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(ChatLog).scroll_end(animate=False)
        self.query_one(Composer).focus()
        self.set_interval(1.0, self._tick)

    # The status line --------------------------------------------------------

    @property
    def status_bar(self) -> StatusBar:
        """The status line above the chat."""
        return self.query_one(StatusBar)

    def backend_ready(self, label: str) -> None:
        """The model ``label`` answers."""
        self.status_bar.model = label
        self._show_state()

    def backend_failed(self, error: str) -> None:
        """No chat model: say why in the status line."""
        self.status_bar.problem = error

    def _show_state(self) -> None:
        """What the status line says of the conversation on screen: private, a
        reply on its way, a reflection running (the countdown is set apart)."""
        bar = self.status_bar
        bar.incognito = self.incognito
        replying = self._reply_thread is not None and self._reply_thread == self.thread_id
        bar.reply = ("writing…" if self._reply_started else "thinking…") if replying else ""
        scheduler = self.assistant.scheduler
        running = scheduler.running if scheduler is not None else None
        here = self.thread_id
        on_screen = here is not None and (here in self.assistant.asked or running == here)
        bar.reflecting = self._reflecting or on_screen

    def _tick(self) -> None:
        """Every second: the countdown to the on-screen thread's reflection."""
        if self.assistant.scheduler is not None:
            self.read_due(self.thread_id)

    @work(
        thread=True, exit_on_error=False, group="scheduling", name="Reading the reflection's time"
    )
    def read_due(self, thread_id: str | None) -> None:
        """The job store and the database are read off the event loop."""
        scheduler = self.assistant.scheduler
        assert scheduler is not None
        due = scheduler.due(thread_id) if thread_id else None
        self.app.call_from_thread(self._show_due, thread_id, due)

    def _show_due(self, thread_id: str | None, due: datetime | None) -> None:
        if thread_id == self.thread_id:
            self._show_state()
            self.status_bar.due = due

    @work(thread=True, exit_on_error=False, group="scheduling", name="Scheduling the reflection")
    def schedule_reflection(self, thread_id: str) -> None:
        """After a reply: (re)schedule the thread's reflection (debounce)."""
        scheduler = self.assistant.scheduler
        assert scheduler is not None
        due = scheduler.submit(thread_id)
        self.app.call_from_thread(self._show_due, thread_id, due)

    @on(ReflectionDone)
    def _reflection_done(self, event: ReflectionDone) -> None:
        """Say how a reflection went (it then bubbles to the app, which refreshes
        the memory pane)."""
        self._show_state()
        self.tell_reflection(event)

    # Conversations ---------------------------------------------------------

    async def open_thread(self, thread_id: str | None) -> None:
        """Show ``thread_id`` (or an empty new conversation) and highlight it in the sidebar."""
        self.thread_id = thread_id
        self.new_thread_incognito = False
        self.status_bar.due = None
        if self.assistant.scheduler is not None:
            self.read_due(thread_id)
        messages = self.store.messages(thread_id) if thread_id else []
        await self.query_one(ChatLog).show(messages)
        self.query_one(ThreadList).highlight(thread_id)
        self._show_state()

    async def refresh_threads(self) -> None:
        await self.query_one(ThreadList).show(self.store.list_threads(), self.thread_id)

    async def show_message(self, thread_id: str, message_id: int | None) -> None:
        """Open ``thread_id`` at ``message_id``, highlighted a few seconds (the
        source of a memory)."""
        await self.open_thread(thread_id)
        if message_id is None:
            return
        views = self.query(f"#message-{message_id}")
        if not views:
            self.notify("That message has been deleted since.")
            return
        view = views.first()
        self.query_one(ChatLog).scroll_to_widget(view, animate=False, top=True)
        view.add_class("found")
        self.set_timer(4, lambda: view.remove_class("found"))

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

        self.app.push_screen(PromptScreen("Rename the conversation:", thread.title), rename)

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
            self.assistant.runtime.delete_thread(thread.id)  # and from conversation search
            self.notify(f"Deleted “{thread.title}”.")
            await self.refresh_threads()
            remaining = self.store.list_threads(limit=1)
            await self.open_thread(remaining[0].id if remaining else None)

        question = f"Delete “{thread.title}” and all its messages? This cannot be undone."
        self.app.push_screen(ConfirmScreen(question), delete)

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
        session = self.assistant.session
        if session is None:
            problem = self.assistant.backend_error or "The model is still loading."
            self.notify(f"{problem} Your text stays in the box.", severity="warning")
            return
        if self._replying:
            self.notify("Wait for the reply to finish, or press Esc to stop it.")
            return
        try:
            text = session.check_message(parsed)
            self._save_new_thread()
        except AssistantError as exc:
            self.notify(str(exc), severity="error")
            return
        self.query_one(Composer).take(event.text)
        assert self.thread_id is not None
        self._reply_thread, self._reply_started = self.thread_id, False
        self._show_state()  # thinking…, until the first token; before the reply shows
        chat = self.query_one(ChatLog)
        await chat.add(MessageView("user", text))
        author = f"Assistant · {session.choice.model}"
        self._reply_view = await chat.add(MessageView("assistant", author=author))
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

    @work(exclusive=True, group="reply", exit_on_error=False, name="The reply")
    async def stream_reply(self, thread_id: str, text: str, view: MessageView) -> None:
        from assistant.session import (
            MemoriesRecalled,
            ReplyFinished,
            ReplyToken,
            RulesSaved,
            UserMessageSaved,
        )

        session = self.assistant.session
        assert session is not None
        stream = Markdown.get_stream(view.markdown)
        chat = self.query_one(ChatLog)
        finished = None
        try:
            async with aclosing(session.send(thread_id, text)) as events:
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
                        used, past = event.context.memories, event.context.exchanges
                        if (used or past) and view.is_attached:
                            await view.show_memories(
                                [m.key for m in used], [m.text for m in used], past_links(past)
                            )
                    elif isinstance(event, ReplyToken) and view.is_attached:
                        if not self._reply_started:
                            self._reply_started = True
                            self._show_state()
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
        """Every worker's failure is told here (titled by its name); a reply's end
        also leaves a note under it and schedules the reflection."""
        problem = tell_failure(event)
        if event.worker.group != "reply" or not event.worker.is_finished:
            if problem is not None:
                self._show_state()
            return
        view, self._reply_view = self._reply_view, None
        if view is not None and not view.is_attached:  # another conversation is open
            view = None
        if self.assistant.scheduler is not None and self._reply_thread is not None:
            self.schedule_reflection(self._reply_thread)  # whatever the reply's fate
        self._reply_thread = None
        self._show_state()
        if event.state == WorkerState.CANCELLED and view is not None:
            view.set_note("Stopped. The partial reply is saved.", "stopped")
        elif problem is not None and view is not None:
            view.set_note(problem)

    @on(MemoriesUsed.Expanded)
    def _memories_expanded(self, event: MemoriesUsed.Expanded) -> None:
        """A saved reply's memories are looked up when first shown."""
        widget = event.collapsible
        if isinstance(widget, MemoriesUsed) and widget.texts is None:
            self.look_up_memories(widget)

    @work(thread=True, exit_on_error=False, group="memories", name="Looking up the memories used")
    def look_up_memories(self, widget: MemoriesUsed) -> None:
        """Read the texts of a reply's memories (Chroma blocks: off the event loop)."""
        memories = self.assistant.memories
        texts = []
        for key in widget.keys:
            found = memories.get(key) if memories else None
            texts.append(found.text if found else "(deleted since)")
        self.app.call_from_thread(widget.show, texts)

    @on(PastLink.Clicked)
    async def _past_clicked(self, event: PastLink.Clicked) -> None:
        event.stop()
        await self.open_thread(event.thread_id)

    @on(MemoryLink.Clicked)
    def _memory_clicked(self, event: MemoryLink.Clicked) -> None:
        self.action_memories(select=event.key)

    # Incognito ---------------------------------------------------------------

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
                self.assistant.runtime.set_incognito(self.thread_id, private)
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
        self._show_state()
        self.call_later(self.refresh_threads)


def past_links(exchanges: Sequence[RecalledExchange]) -> list[tuple[str, str]]:
    """``(thread_id, "2026-03-10 · Title: the words")`` for each past exchange."""
    links = []
    for recalled in exchanges:
        exchange = recalled.exchange
        match = next(m for m in exchange.messages if m.id == exchange.message_id)
        words = " ".join(match.content.split())
        words = words if len(words) <= 80 else words[:79].rsplit(" ", 1)[0] + "…"
        when = local_time(exchange.when)[:10]
        links.append((exchange.thread.id, f"{when} · {exchange.thread.title}: {words}"))
    return links
