"""The dialogs and the memory form from the keyboard alone, through Pilot: arrow
keys between a dialog's buttons and a hint that says what Enter presses; the
form's Ctrl+S (shown on screen), its multi-line fields where Enter is a new line,
its checkboxes' real state and Esc; text in them, and in the memory pane's
table, shown as it is, never as markup; and the pane's search, which lists only
relevant memories. Real Chroma with the real embedder."""

import io
from pathlib import Path

from rich.console import Console
from textual.app import App
from textual.widgets import Button, Checkbox, Input, Label, TextArea

import tui
from assistant.memory.repository import StoredMemory
from assistant.memory.schemas import EpisodicMemory, Provenance, SemanticMemory
from tests.tui.test_app import settle
from tests.tui.test_background_reflection import wait_for
from tests.tui.test_memory_commands import make_app
from tests.tui.test_memory_pane import heading, listed, open_pane, seeded
from tui.screens.dialogs import ConfirmScreen, PromptScreen
from tui.screens.memory_form import MemoryFormScreen
from tui.widgets.memory_browser import MemoryBrowser

SIZE = (110, 32)
HOSTILE = ("[/x]", "[reverse]x[/]", "[@click=app.quit]")


class Host(App[None]):
    """A bare app with the assistant's styles, to push one screen on."""

    CSS_PATH = Path(tui.__file__).parent / "app.tcss"

    def __init__(self) -> None:
        super().__init__()
        self.answers: list[object] = []

    def ask(self, screen) -> None:
        self.push_screen(screen, self.answers.append)


def keys(text: str) -> list[str]:
    """The keys that type ``text``."""
    return ["space" if ch == " " else ch for ch in text]


def screen_text(app: App) -> str:
    """What the terminal shows now, as plain text (what a snapshot draws)."""
    console = Console(
        width=app.size.width,
        height=app.size.height,
        file=io.StringIO(),
        record=True,
        force_terminal=True,
        color_system="truecolor",
        legacy_windows=False,
    )
    console.print(app.screen._compositor.render_update(full=True))
    return console.export_text(styles=False)


async def test_confirm_moves_with_the_arrows_and_says_what_enter_presses() -> None:
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        app.ask(ConfirmScreen("Delete the conversation “Plans”?"))
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ConfirmScreen)
        cancel, confirm = dialog.query_one("#cancel", Button), dialog.query_one("#confirm", Button)
        assert cancel.has_focus  # Enter alone never deletes
        assert "Enter: Cancel · Esc: Cancel" in screen_text(app)

        await pilot.press("left")
        assert confirm.has_focus
        assert "Enter: Delete · Esc: Cancel" in screen_text(app)
        await pilot.press("right")
        assert cancel.has_focus
        await pilot.press("right")  # wraps round
        assert confirm.has_focus
        await pilot.press("tab")
        assert cancel.has_focus and "Enter: Cancel" in screen_text(app)
        await pilot.press("shift+tab")
        assert confirm.has_focus

        await pilot.press("enter")
        await pilot.pause()
        assert app.answers == [True]

        app.ask(ConfirmScreen("Forget it?", confirm="Forget"))
        await pilot.pause()
        await pilot.press("left", "right", "enter")  # back on Cancel
        await pilot.pause()
        app.ask(ConfirmScreen("Forget it?", confirm="Forget"))
        await pilot.pause()
        await pilot.press("left", "escape")  # Esc cancels wherever the focus is
        await pilot.pause()
        assert app.answers == [True, False, False]


async def test_prompt_enter_answers_and_the_arrows_move_between_its_buttons() -> None:
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        app.ask(PromptScreen("Rename the conversation:", "Plans"))
        await pilot.pause()
        dialog = app.screen
        field = dialog.query_one(Input)
        assert field.has_focus and "Enter: OK · Esc: Cancel" in screen_text(app)
        await pilot.press("end", "left", "left", "X")  # in the field, arrows move the cursor
        assert field.has_focus and field.value == "PlaXns"
        await pilot.press("tab")
        assert dialog.query_one("#ok", Button).has_focus
        await pilot.press("right")
        assert dialog.query_one("#cancel", Button).has_focus
        assert "Enter: Cancel" in screen_text(app)
        await pilot.press("left", "enter")
        await pilot.pause()
        assert app.answers == ["PlaXns"]

        app.ask(PromptScreen("Rename the conversation:", "Plans"))
        await pilot.pause()
        await pilot.press("tab", "right", "enter")
        await pilot.pause()
        assert app.answers == ["PlaXns", None]


async def test_dialogs_show_markup_as_it_is() -> None:
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        for text in HOSTILE:
            app.ask(ConfirmScreen(f"Delete the conversation “{text}”?", confirm=text))
            await pilot.pause()
            shown = screen_text(app)
            assert f"Delete the conversation “{text}”?" in shown
            await pilot.press("left")
            assert f"Enter: {text} · Esc: Cancel" in screen_text(app)
            await pilot.press("escape")
            await pilot.pause()

            app.ask(PromptScreen(f"Rename “{text}”:", text))
            await pilot.pause()
            assert f"Rename “{text}”:" in screen_text(app)
            await pilot.press("enter")
            await pilot.pause()
        assert app.is_running
        assert app.answers == [answer for text in HOSTILE for answer in (False, text)]


def stored_fact(memory_loader, settings, **values: object) -> tuple[object, StoredMemory]:
    memories = memory_loader(settings)
    fact = SemanticMemory(subject="the user", fact="The user's dog is called Fido.", **values)
    memories.put("dog", fact)
    return memories, memories.get("dog")


async def edit(pilot, memories, stored: StoredMemory) -> MemoryFormScreen:
    """Open the form on ``stored`` in a bare app; returns it."""
    pilot.app.ask(MemoryFormScreen(memories, stored=stored))
    await pilot.pause()
    form = pilot.app.screen
    assert isinstance(form, MemoryFormScreen)
    return form


async def save(pilot, form: MemoryFormScreen) -> None:
    """Ctrl+S, then wait for the form to have saved and closed."""
    await pilot.press("ctrl+s")
    await wait_for(pilot, lambda: pilot.app.screen is not form)


async def test_the_form_saves_with_ctrl_s_shown_and_enter_is_a_new_line(
    settings, memory_loader
) -> None:
    memories, stored = stored_fact(memory_loader, settings)
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        form = await edit(pilot, memories, stored)
        assert "Ctrl+S: Save" in screen_text(app) and "Esc: Cancel" in screen_text(app)
        fact = form.query_one("#semantic-fact", TextArea)
        fact.focus()
        fact.move_cursor(fact.document.end)
        long = " He is a beagle who loves long walks by the river and hates the rain."
        await pilot.press(*keys(long))  # typed key by key
        await pilot.press("enter", *keys("Born in 2019."))
        await pilot.pause()
        assert app.screen is form  # Enter did not save or close the form
        assert "\n" in fact.text
        assert fact.size.height > 1  # the long fact wraps over several lines

        assert fact.has_focus
        await save(pilot, form)  # from inside the text area
        saved = memories.get("dog")
        assert saved.text == (
            "The user's dog is called Fido. He is a beagle who loves long walks by the "
            "river and hates the rain. Born in 2019."
        )
        assert app.answers[-1].key == "dog"


async def test_enter_in_a_one_line_field_moves_on_and_esc_cancels(settings, memory_loader) -> None:
    memories, stored = stored_fact(memory_loader, settings)
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        form = await edit(pilot, memories, stored)
        subject = form.query_one("#semantic-subject", Input)
        assert subject.has_focus
        await pilot.press("end", *keys("'s dog"), "enter")
        assert app.screen is form and form.query_one("#semantic-fact", TextArea).has_focus
        await pilot.press("escape")
        await pilot.pause()
        assert app.answers == [None]
        assert memories.get("dog").memory.subject == "the user"  # nothing saved


async def test_the_checkboxes_show_their_real_state(settings, memory_loader) -> None:
    memories, stored = stored_fact(memory_loader, settings, pinned=True)
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        form = await edit(pilot, memories, stored)
        pinned, muted = form.query_one("#form-pinned", Checkbox), form.query_one("#form-muted")
        assert pinned.value and not muted.value
        shown = screen_text(app)
        assert "▐X▌ Pinned: recalled into every turn" in shown
        assert "▐ ▌ Muted: kept, never recalled" in shown
        muted.focus()
        await pilot.press("space")
        pinned.focus()
        await pilot.press("space")
        shown = screen_text(app)
        assert "▐ ▌ Pinned" in shown and "▐X▌ Muted" in shown
        await save(pilot, form)
        saved = memories.get("dog").memory
        assert not saved.pinned and saved.muted


async def test_the_form_shows_markup_as_it_is(settings, memory_loader) -> None:
    memories = memory_loader(settings)
    for i, text in enumerate(HOSTILE):
        memories.put(
            f"e{i}",
            EpisodicMemory(
                situation=f"The user asked about {text}.",
                action=f"Wrote {text}.",
                outcome="Fine.",
            ),
        )
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        for i, text in enumerate(HOSTILE):
            stored = memories.get(f"e{i}")
            form = await edit(pilot, memories, stored)
            assert f"The user asked about {text}." in screen_text(app)
            form.changed_meanwhile(stored)
            await pilot.pause()
            warning = str(form.query_one("#form-warning", Label).render())
            assert f"Wrote {text}." in warning
            await pilot.press("escape")
            await pilot.pause()
        assert app.is_running


async def test_the_pane_shows_titles_and_memories_with_markup_as_they_are(
    settings, memory_loader
) -> None:
    """A conversation titled ``[/x]`` used to end the app as the pane opened."""
    app = make_app(settings, memory_loader, [])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.memories is not None
        for i, text in enumerate(HOSTILE):
            thread = app.store.create_thread()
            app.store.rename_thread(thread.id, text)
            chat = Provenance(source="reflection", thread_id=thread.id)
            fact = SemanticMemory(
                subject="the user", fact=f"The user wrote {text}.", provenance=chat
            )
            app.memories.put(f"m{i}", fact)
        screen = await open_pane(pilot)
        assert app.is_running and app.screen is screen
        table = screen.query_one(MemoryBrowser)
        cells = {str(table.get_row(f"m{i}")[4]) for i in range(len(HOSTILE))}
        assert cells == {f"chat · {text}" for text in HOSTILE}
        shown = screen_text(app)
        for text in HOSTILE:  # the source column is 18 wide: long titles end in "…"
            assert f"The user wrote {text}." in shown and f"chat · {text}"[:17] in shown

        await pilot.press("slash", *keys("[/x]"), "enter")
        await wait_for(pilot, lambda: screen.browser.searched == "[/x]")
        await settle(pilot)
        assert listed(screen)[0] == "The user wrote [/x]."  # its words first
        assert "found for “[/x]”" in heading(screen)


async def test_a_search_lists_only_relevant_memories_and_says_when_none_match(
    settings, memory_loader
) -> None:
    app = make_app(settings, memory_loader, [])
    async with app.run_test(size=SIZE) as pilot:
        await seeded(pilot, settings)
        screen = await open_pane(pilot)
        await pilot.press("slash", *keys("pet animal"), "enter")
        await wait_for(pilot, lambda: screen.browser.searched == "pet animal")
        await settle(pilot)
        assert listed(screen) == ["The user's dog is called Fido."]  # not every memory

        search = screen.query_one("#memory-search", Input)
        search.value = "xyzzy"
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.browser.searched == "xyzzy")
        await settle(pilot)
        assert listed(screen) == []
        assert "No memory matches “xyzzy”." in heading(screen)
