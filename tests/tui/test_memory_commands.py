"""Memories in the TUI through Pilot: the memories used under a reply, the slash
commands and incognito, on real Chroma with the real embedder."""

import pytest
from textual.widgets import Button

from assistant.config import Settings
from assistant.llm import BackendChoice
from assistant.memory.repository import Memories, new_key
from assistant.memory.schemas import ProceduralMemory, SemanticMemory
from assistant.runtime import Runtime
from tests.memory.conftest import ScriptedModel, fact, judged
from tests.tui.test_app import SIZE, settle, type_and_send
from tui.app import AssistantApp
from tui.screens.dialogs import ConfirmScreen
from tui.widgets.chat import Composer, MemoriesUsed, MemoryLink
from tui.widgets.status import StatusBar

CHOICE = BackendChoice("local", "scripted", "local · scripted", "test", None, "http://x")


def make_app(settings: Settings, memory_loader, replies: list[str]) -> AssistantApp:
    model = ScriptedModel(replies=replies)
    loader = lambda s: (CHOICE, model)  # noqa: E731
    return AssistantApp(Runtime(settings, backend_loader=loader, memory_loader=memory_loader))


def notices(app: AssistantApp) -> list[str]:
    return [f"{n.title}: {n.message}" for n in app._notifications]


def texts(memories: Memories) -> list[str]:
    return sorted(
        m.text for kind in ("semantic", "episodic", "procedural") for m in memories.listing(kind)
    )


async def test_a_reply_shows_the_memories_it_used(settings, memory_loader) -> None:
    app = make_app(settings, memory_loader, ["Fido, of course."])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.memories is not None
        app.memories.put(new_key(), SemanticMemory(subject="dog", fact="The user's dog is Fido."))
        app.memories.put(new_key(), ProceduralMemory(rule="Answer in one sentence."))
        await type_and_send(pilot, "What is my dog called?")
        await settle(pilot)
        used = app.query_one(MemoriesUsed)
        assert used.title == "2 memories used"
        assert used.collapsed
        used.collapsed = False
        await pilot.pause()
        shown = " ".join(str(link.render()) for link in used.query(MemoryLink))
        assert "The user's dog is Fido." in shown and "Answer in one sentence." in shown
        thread_id = app.chat.thread_id
    # After a restart, the saved reply looks the texts up when expanded.
    app = make_app(settings, memory_loader, [])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.chat.thread_id == thread_id
        used = app.query_one(MemoriesUsed)
        assert used.texts is None
        used.collapsed = False
        await settle(pilot)
        assert "The user's dog is Fido." in (used.texts or [])


async def test_remember_saves_at_once_and_does_not_twin(settings, memory_loader) -> None:
    app = make_app(settings, memory_loader, [])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await type_and_send(pilot, "/remember My sister Anna lives in Porto")
        await settle(pilot)
        assert app.query_one(Composer).text == ""
        await type_and_send(pilot, "/remember my sister Anna lives in Porto.")
        await settle(pilot)
        await type_and_send(pilot, "/remember from now on, answer in metric units")
        await settle(pilot)
        assert app.memories is not None
        assert texts(app.memories) == [
            "Answer in metric units.",
            'The user said: "My sister Anna lives in Porto."',
        ]
        rule = app.memories.listing("procedural")[0].memory
        assert rule.provenance.source == "user"
        said = notices(app)
        assert any(n.startswith("Remembered:") and "(fact)" in n for n in said)
        assert any(n.startswith("Already known:") for n in said)
        assert any(n.startswith("Remembered:") and "(rule)" in n for n in said)
        # No message was sent: commands are not chat.
        assert app.store.list_threads() == []


async def test_forget_asks_first_and_deletes_for_good(settings, memory_loader) -> None:
    app = make_app(settings, memory_loader, [])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.memories is not None
        app.memories.put(new_key(), SemanticMemory(subject="dog", fact="The user's dog is Fido."))
        app.memories.put(new_key(), SemanticMemory(subject="job", fact="The user is a nurse."))
        await type_and_send(pilot, "/forget my dog Fido")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, ConfirmScreen)
        assert "The user's dog is Fido." in dialog.question
        assert "nurse" not in dialog.question
        await pilot.click("#cancel")
        await settle(pilot)
        assert len(texts(app.memories)) == 2  # cancelled: nothing deleted

        await type_and_send(pilot, "/forget my dog Fido")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        assert app.screen.query_one("#confirm", Button).label.plain == "Forget"
        await pilot.click("#confirm")
        await settle(pilot)
        assert texts(app.memories) == ["The user is a nurse."]
        assert any(n.startswith("Forgotten: Forgot 1 memory") for n in notices(app))

        await type_and_send(pilot, "/forget quantum chromodynamics")
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmScreen)
        assert any("No memory matches" in n for n in notices(app))


async def test_reflect_runs_now_and_says_what_it_learned(settings, memory_loader) -> None:
    answer = judged((fact("The user's dog is called Fido."), "create", ""))
    app = make_app(settings, memory_loader, ["Nice dog!", answer])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await type_and_send(pilot, "My dog is called Fido.")
        await settle(pilot)
        await type_and_send(pilot, "/reflect")
        await settle(pilot)
        assert app.memories is not None
        assert texts(app.memories) == ["The user's dog is called Fido."]
        assert "Reflection: learned 1" in notices(app)
        await type_and_send(pilot, "/reflect")
        await settle(pilot)
        assert "Reflection: nothing new to reflect on" in notices(app)


async def test_incognito_remembers_and_recalls_nothing(settings, memory_loader) -> None:
    app = make_app(settings, memory_loader, ["Noted.", "Hello again."])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.memories is not None
        app.memories.put(new_key(), SemanticMemory(subject="dog", fact="The user's dog is Fido."))
        await pilot.press("f4")  # before the first message: the new conversation is private
        await pilot.pause()
        assert "incognito" in str(app.query_one("#status", StatusBar).render())
        await type_and_send(pilot, "My dog Fido is ill.")
        await settle(pilot)
        thread = app.store.get_thread(app.chat.thread_id)
        assert thread.incognito
        assert not app.query(MemoriesUsed)  # nothing recalled
        await type_and_send(pilot, "/reflect")
        await settle(pilot)
        assert texts(app.memories) == ["The user's dog is Fido."]  # nothing remembered
        assert "Reflection: incognito: nothing remembered" in notices(app)

        await type_and_send(pilot, "/incognito")
        await pilot.pause()
        assert not app.store.get_thread(thread.id).incognito
        assert "incognito" not in str(app.query_one("#status", StatusBar).render())
        # What was said in private stays out of later reflections.
        assert app.store.unreflected(thread.id) == []


async def test_unknown_commands_are_explained_and_kept(settings, memory_loader) -> None:
    app = make_app(settings, memory_loader, ["A path."])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await type_and_send(pilot, "/remmber the milk")
        await settle(pilot)
        assert app.query_one(Composer).text == "/remmber the milk"
        assert any("Unknown command /remmber" in n for n in notices(app))
        await type_and_send(pilot, "/help")
        await settle(pilot)
        assert any(n.startswith("Commands:") and "/forget TEXT" in n for n in notices(app))
        await type_and_send(pilot, "//remember is a command")
        await settle(pilot)
        assert app.store.messages(app.chat.thread_id)[0].content == "/remember is a command"


@pytest.mark.model
async def test_the_embedded_model_remembers_and_the_reply_shows_it(data_dir, memory_loader) -> None:
    """Tell a fact, /reflect, then ask in a new conversation: the reply shows the memory."""
    settings = Settings.load(data_dir=data_dir, backend="local", temperature=0.0)
    app = AssistantApp(Runtime(settings, memory_loader=memory_loader))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await type_and_send(pilot, "My dog's name is Fido.")
        await settle(pilot)
        await type_and_send(pilot, "/reflect")
        await settle(pilot)
        assert any(n.startswith("Reflection: learned") for n in notices(app)), notices(app)
        await pilot.press("ctrl+n")
        await type_and_send(pilot, "What is my dog called?")
        await settle(pilot)
        used = app.query_one(MemoriesUsed)
        used.collapsed = False
        await pilot.pause()
        assert "Fido" in " ".join(str(link.render()) for link in used.query(MemoryLink))


async def test_a_reply_shows_the_past_messages_it_used_and_opens_them(
    settings, memory_loader
) -> None:
    from tui.widgets.chat import PastLink

    app = make_app(settings, memory_loader, ["Dr. Okafor, on Baker Street."])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        store = app.runtime.conversations
        past = store.create_thread("Teeth")
        store.add_message(past.id, "user", "My dentist is Dr. Okafor on Baker Street.")
        store.add_message(past.id, "assistant", "Noted.")
        app.runtime.recall().index_new()  # as the process that wrote them does
        await app.chat.open_thread(None)  # a new conversation
        await type_and_send(pilot, "Who is my dentist?")
        await settle(pilot)
        used = app.query_one(MemoriesUsed)
        assert used.title == "1 past message used"
        used.collapsed = False
        await pilot.pause()
        (link,) = used.query(PastLink)
        assert "Teeth: My dentist is Dr. Okafor on Baker Street." in str(link.render())
        link.action_open()
        await settle(pilot)
        assert app.chat.thread_id == past.id
