"""The message box's keys and how a user's message is shown (tui/widgets/chat.py)."""

import asyncio

from textual import events, on
from textual._xterm_parser import XTermParser
from textual.app import App, ComposeResult
from textual.screen import Screen
from textual.widgets import Markdown, Static

from tui.widgets.chat import Composer, MessageView, fenced_parts


def parsed(data: str) -> list[events.Event]:
    """What Textual's input parser makes of ``data`` read from the terminal."""
    parser = XTermParser()
    return [*parser.feed(data), *parser.feed("")]


class ChatLike(Screen[None]):
    """Handles Enter as the chat screen does: a wait (mounting the message's
    view), then the text out of the box."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[str] = []

    def compose(self) -> ComposeResult:
        yield Composer()

    @on(Composer.Submitted)
    async def send(self, event: Composer.Submitted) -> None:
        self.sent.append(event.text)
        await asyncio.sleep(0.05)
        self.query_one(Composer).take(event.text)


class BoxApp(App[None]):
    def on_mount(self) -> None:
        self.push_screen(ChatLike())


async def feed(pilot, data: str) -> None:
    """``data`` as the terminal sends it, read in one go, then handled."""
    for event in parsed(data):
        pilot.app.post_message(event)
    for _ in range(100):
        await pilot.pause(0.02)
        if not pilot.app.screen.query_one(Composer)._message_queue.qsize():
            break
    await pilot.pause(0.2)


async def test_alt_enter_as_tmux_sends_it_adds_a_line() -> None:
    async with BoxApp().run_test() as pilot:
        # tmux and most terminals send ESC CR for Alt+Enter; kitty's protocol CSI u.
        await feed(pilot, "one\x1b\rtwo\x1b[13;3uthree\x1b[13;2ufour\nfive")
        screen = pilot.app.screen
        assert screen.query_one(Composer).text == "one\ntwo\nthree\nfour\nfive"
        assert screen.sent == []
        await feed(pilot, "\r")
        assert screen.sent == ["one\ntwo\nthree\nfour\nfive"]


async def test_text_enter_text_enter_in_one_burst_sends_each_once() -> None:
    async with BoxApp().run_test() as pilot:
        await feed(pilot, "first\rsecond\rthird")
        screen = pilot.app.screen
        assert screen.sent == ["first", "second"]
        assert screen.query_one(Composer).text == "third"


async def test_a_paste_keeps_its_lines_and_enter_after_it_sends_them() -> None:
    async with BoxApp().run_test() as pilot:
        # tmux's paste-buffer sends newlines as CR, inside the paste brackets.
        await feed(pilot, "\x1b[200~a\rb\r\nc\x1b[201~\r")
        assert pilot.app.screen.sent == ["a\nb\nc"]


async def test_take_leaves_a_box_edited_since_enter_alone() -> None:
    async with BoxApp().run_test() as pilot:
        box = pilot.app.screen.query_one(Composer)
        box.load_text("changed meanwhile")
        box.take("what was sent")
        assert box.text == "changed meanwhile"
        box.take("changed")
        assert box.text == " meanwhile"


def test_fenced_parts() -> None:
    plain = "a *star*, # not a heading, <b>, `inline`"
    assert fenced_parts(plain) == [("text", plain)]
    text = "Why?\n\n```python\nx = 1  # *y*\n```\nand ~~~ here\n~~~\nopen"
    assert fenced_parts(text) == [
        ("text", "Why?"),
        ("code", "```python\nx = 1  # *y*\n```"),
        ("text", "and ~~~ here"),
        ("code", "~~~\nopen\n~~~"),
    ]
    assert fenced_parts("``` a ` b\nnot a fence") == [("text", "``` a ` b\nnot a fence")]
    indented = "    ```\nindented: code text"
    assert fenced_parts(indented) == [("text", indented)]
    assert fenced_parts("````\n```\nstill code\n````") == [("code", "````\n```\nstill code\n````")]


class OneMessage(App[None]):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        yield MessageView("user", self.text)


async def test_a_users_code_fence_is_shown_as_code_and_the_rest_as_typed() -> None:
    text = "Fix **this** [b]please[/b]:\n```python\ndef f():\n    return 1\n```\n# thanks"
    async with OneMessage(text).run_test() as pilot:
        view = pilot.app.query_one(MessageView)
        [code] = view.query(Markdown)
        assert code.source == "```python\ndef f():\n    return 1\n```"
        assert code.query("MarkdownFence"), "a code block"
        words = [str(s.render()) for s in view.query(".body > Static")]
        assert words == ["Fix **this** [b]please[/b]:", "# thanks"]


async def test_a_users_plain_message_is_shown_as_typed() -> None:
    text = "**not bold** # not a heading [b]no markup[/b]\n    not code"
    async with OneMessage(text).run_test() as pilot:
        view = pilot.app.query_one(MessageView)
        assert not view.query(Markdown)
        assert str(view.query_one(".body", Static).render()) == text
