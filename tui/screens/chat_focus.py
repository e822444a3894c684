"""Where typing goes on the chat screen: the message box.

Printable keys and pastes read while the focus is on a widget that takes no
text (a memory link, the log, a collapsible's title) move the focus to the
message box before they are routed, so they and every key read after them
reach it, in order. ``Screen.set_focus`` is used, not ``Widget.focus``: the
latter takes effect only after the message queue, and keys read meanwhile
would go to the old widget (see ``MemoryScreen.action_focus_search``). Keys
the focused widget binds (arrows and Enter in the sidebar, ``r`` there) stay
with it. Back from the memory pane or a dialog, after "2 memories used" is
expanded and after a past conversation is opened, the focus is on the box.

A mixin of :class:`tui.screens.chat.ChatScreen`.
"""

from textual import events
from textual.widgets import Input, TextArea

from tui.screens.chat_parts import ChatParts
from tui.widgets.chat import Composer
from tui.widgets.sidebar import ThreadList


class TypingFocus(ChatParts):
    """Typing on the chat screen reaches the message box."""

    def steer_typing(self, event: events.Key | events.Paste) -> None:
        """Called by the app before it routes ``event``, read while this screen is
        on top: typing meant for no text field goes to the message box."""
        focused = self.focused
        if isinstance(focused, Input | TextArea):
            return
        key = isinstance(event, events.Key)
        if key and (not event.is_printable or event.key in self.active_bindings):
            return
        self.focus_composer()

    def focus_composer(self) -> None:
        """Focus the message box now (synchronously)."""
        for composer in self.query(Composer):
            self.set_focus(composer)

    def on_screen_resume(self) -> None:
        """Back from the memory pane or a dialog: to the message box, unless the
        sidebar had the focus (not the memory link that opened the pane)."""
        if not isinstance(self.focused, ThreadList):
            self.focus_composer()
