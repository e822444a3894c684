"""The embedded llama.cpp model answering for real, through the code path the TUI uses."""

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import time
from contextlib import aclosing

import pytest

from assistant.conversations import ConversationStore
from assistant.llm import choose_backend
from assistant.llm.local import ChatLlamaCpp
from assistant.session import ChatSession, ReplyFinished, ReplyToken
from tests.integration.conftest import ASSISTANT, interruptible, local_settings, run_cli

pytestmark = pytest.mark.model


def test_the_bundled_model_answers(local_model) -> None:
    reply = local_model.invoke("Say hello.")
    assert reply.text.strip()


def test_output_can_be_constrained_to_a_json_schema(local_model) -> None:
    """llama.cpp's grammar-constrained decoding: what reflection will rely on."""
    schema = {
        "type": "object",
        "properties": {
            "memories": {
                "type": "array",
                "minItems": 1,
                "maxItems": 3,
                "items": {
                    "type": "object",
                    "properties": {
                        "kind": {"type": "string", "enum": ["semantic", "procedural"]},
                        "text": {"type": "string", "minLength": 3, "maxLength": 120},
                    },
                    "required": ["kind", "text"],
                },
            }
        },
        "required": ["memories"],
    }
    constrained = local_model.bind(
        response_format={"type": "json_object", "schema": schema}, max_tokens=256
    )
    reply = constrained.invoke("List facts about the user as JSON. USER: My dog's name is Fido.")
    output = json.loads(reply.text)
    # The grammar holds the model to the schema: never an empty list, never four.
    assert 1 <= len(output["memories"]) <= 3, output
    for memory in output["memories"]:
        assert memory["kind"] in ("semantic", "procedural")
        assert 3 <= len(memory["text"]) <= 120


async def test_a_turn_end_to_end_is_persisted_and_seen_by_another_process(
    local_model, data_dir
) -> None:
    settings = local_settings(data_dir)
    store = ConversationStore(settings.database_path)
    session = ChatSession(store, local_model, choose_backend(settings), settings)
    thread = store.create_thread()
    tokens, finished = [], None
    async for event in session.send(thread.id, "What is the capital of France?"):
        if isinstance(event, ReplyToken):
            tokens.append(event.text)
        elif isinstance(event, ReplyFinished):
            finished = event.message
    assert len(tokens) > 1, "the reply should stream in several pieces"
    assert finished is not None and finished.content == "".join(tokens).strip()
    assert (finished.backend, finished.model) == ("local", "SmolLM2-135M-Instruct")

    listing = run_cli("threads", "--json", data_dir=data_dir)
    assert listing.returncode == 0, listing.stderr
    row = json.loads(listing.stdout.splitlines()[0])
    assert row["id"] == thread.id and row["messages"] == 2
    assert row["title"] == "What is the capital of France?"


async def test_a_stopped_reply_frees_the_model_for_the_next(local_model, data_dir) -> None:
    settings = local_settings(data_dir)
    store = ConversationStore(settings.database_path)
    session = ChatSession(store, local_model, choose_backend(settings), settings)
    thread = store.create_thread()

    async def first_tokens() -> None:
        story = session.send(thread.id, "Tell me a long story about a fox.")
        async with aclosing(story) as events:
            async for event in events:
                if isinstance(event, ReplyToken):
                    await asyncio.sleep(0.05)  # a slow reader: the stop lands here

    task = asyncio.create_task(first_tokens())
    while not [m for m in store.messages(thread.id)]:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert store.messages(thread.id)[-1].status == "cancelled"
    answer = await asyncio.wait_for(local_model.ainvoke("Say yes."), timeout=30)
    assert answer.text.strip()


def test_cli_chat_streams_the_reply_to_stdout(data_dir) -> None:
    result = run_cli("--backend", "local", "chat", "Hello, who are you?", data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
    again = run_cli("--backend", "local", "chat", "Thanks!", data_dir=data_dir)
    assert again.returncode == 0
    listing = run_cli("threads", "--json", data_dir=data_dir)
    assert [json.loads(line)["messages"] for line in listing.stdout.splitlines()] == [4]
    fresh = run_cli("--backend", "local", "chat", "--new", "Hi again", data_dir=data_dir)
    assert fresh.returncode == 0
    assert len(run_cli("threads", data_dir=data_dir).stdout.splitlines()) == 2


def test_auto_without_ollama_falls_back_and_says_so(data_dir) -> None:
    result = run_cli("chat", "Hi", data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    assert "did not answer" in result.stderr and "demo quality" in result.stderr


def test_ctrl_c_during_a_reply_keeps_the_conversation(data_dir) -> None:
    process = subprocess.Popen(
        [
            ASSISTANT,
            "--data-dir",
            str(data_dir),
            "--backend",
            "local",
            "chat",
            "Write a very long story about the sea, with many chapters.",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=os.environ | {"ASSISTANT_MAX_REPLY_TOKENS": "4000"},
        preexec_fn=interruptible,
    )
    assert process.stdout is not None
    process.stdout.read(20)  # the reply is streaming
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 130
    assert b"saved" in err and b"Traceback" not in err
    time.sleep(0.1)
    db = sqlite3.connect(data_dir / "conversations.sqlite3")
    rows = db.execute("SELECT role, status FROM messages ORDER BY id").fetchall()
    assert rows[0] == ("user", "complete")
    assert rows[1] == ("assistant", "cancelled")


async def test_a_looping_reply_is_stopped_with_a_note(data_dir) -> None:
    """The tiny model, greedy and without a repetition penalty, falls into a loop;
    the guard stops it long before the token cap and says so."""
    from assistant.llm.bundled import MODELS, ensure_model
    from assistant.llm.guard import STOPPED_NOTE
    from tests.conftest import MODELS_DIR

    path = ensure_model(MODELS["tiny"], MODELS_DIR)
    model = ChatLlamaCpp(model_path=str(path), temperature=0.0, repeat_penalty=1.0, max_tokens=400)
    settings = local_settings(data_dir)
    store = ConversationStore(settings.database_path)
    session = ChatSession(store, model, choose_backend(settings), settings)
    thread = store.create_thread()
    prompt = "Count to 100, then say ha ha ha ha ha ha forever: ha ha ha ha ha ha ha ha ha ha"
    tokens = 0
    async for event in session.send(thread.id, prompt):
        tokens += isinstance(event, ReplyToken)
        if isinstance(event, ReplyFinished):
            finished = event.message
    assert finished.status == "cancelled" and finished.error == STOPPED_NOTE
    assert tokens < 200  # stopped, not run to the cap of 400
    assert finished.content.count("ha ha ha ha") <= 1
    store.close()
