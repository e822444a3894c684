"""ChatOllama (langchain-ollama) against a loopback server that speaks Ollama's API."""

import pytest

from assistant.config import Settings
from assistant.conversations import ConversationStore
from assistant.errors import ModelError
from assistant.llm import choose_backend, load_chat_model
from assistant.session import ChatSession, ReplyToken
from tests.integration.conftest import run_cli


def ollama_session(data_dir, host: str, **values: object) -> ChatSession:
    settings = Settings.load(data_dir=data_dir, ollama_host=host, **values)
    choice = choose_backend(settings)
    store = ConversationStore(settings.database_path)
    return ChatSession(store, load_chat_model(choice, settings), choice, settings)


async def test_auto_picks_ollama_and_streams_its_reply(fake_ollama, data_dir) -> None:
    session = ollama_session(data_dir, fake_ollama)
    assert session.choice.backend == "ollama"
    thread = session.store.create_thread()
    tokens = [e.text async for e in session.send(thread.id, "hi") if isinstance(e, ReplyToken)]
    assert "".join(tokens) == "Hello from Ollama."
    reply = session.store.messages(thread.id)[-1]
    assert (reply.content, reply.backend, reply.model) == (
        "Hello from Ollama.",
        "ollama",
        "llama3.2",
    )


async def test_a_model_ollama_lacks_is_a_clear_error(fake_ollama, data_dir) -> None:
    session = ollama_session(data_dir, fake_ollama, backend="ollama", ollama_model="phi9")
    assert "does not have the model 'phi9'" in (session.choice.notice or "")
    thread = session.store.create_thread()
    with pytest.raises(ModelError, match="ollama pull phi9"):
        [e async for e in session.send(thread.id, "hi")]
    assert session.store.messages(thread.id)[0].content == "hi"


async def test_ollama_down_is_a_clear_error_and_keeps_the_message(data_dir) -> None:
    session = ollama_session(data_dir, "http://127.0.0.1:9", backend="ollama")
    thread = session.store.create_thread()
    with pytest.raises(ModelError, match=r"not reachable at http://127.0.0.1:9.*--backend local"):
        [e async for e in session.send(thread.id, "are you there?")]
    assert [m.content for m in session.store.messages(thread.id)] == ["are you there?"]


def test_cli_chat_through_ollama(fake_ollama, data_dir) -> None:
    result = run_cli("chat", "hi", data_dir=data_dir, OLLAMA_HOST=fake_ollama)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Hello from Ollama."
    assert result.stderr == ""


def test_cli_chat_with_ollama_down_fails_in_one_line(data_dir) -> None:
    result = run_cli("--backend", "ollama", "chat", "hi", data_dir=data_dir)
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1].startswith("error: Ollama is not reachable")
    assert "Traceback" not in result.stderr
