"""What the chat screen's mixins may use of the screen, for the type checker.

:class:`ChatParts` is the base of the mixins of :class:`tui.screens.chat.ChatScreen`
(:mod:`tui.screens.chat_status`, :mod:`tui.screens.chat_queue`,
:mod:`tui.screens.chat_focus`): for a type checker, a ``Screen`` with the chat's
own attributes; at run time, ``object``, so the screen's MRO stays as written.
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from textual.screen import Screen

    from assistant.conversations import ConversationStore
    from tui.app import AssistantApp
    from tui.screens.chat_queue import Turn, Waiting
    from tui.widgets.chat import Composer, MessageView
    from tui.widgets.status import StatusBar

    class ChatParts(Screen[None]):
        """The chat screen as its mixins see it."""

        thread_id: str | None
        _turn: Turn | None
        _waiting: list[Waiting]
        _notice_lines: list[str]

        @property
        def assistant(self) -> AssistantApp: ...
        @property
        def store(self) -> ConversationStore: ...
        @property
        def incognito(self) -> bool: ...
        @property
        def _reflecting(self) -> bool: ...
        @property
        def _replying(self) -> bool: ...
        @property
        def status_bar(self) -> StatusBar: ...
        @property
        def composer(self) -> Composer: ...

        def _show_state(self) -> None: ...
        def send_waiting(self) -> None: ...
        def take_back_waiting(self, reason: str) -> None: ...
        def start_turn(
            self, text: str, *, typed: str | None, waiting: MessageView | None
        ) -> bool: ...

else:
    ChatParts = object
