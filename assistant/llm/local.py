"""The embedded backend: a GGUF chat model run in process by llama.cpp.

:class:`ChatLlamaCpp` is a langchain-core ``BaseChatModel`` over
``llama_cpp.Llama.create_chat_completion`` (llama-cpp-python's OpenAI-style API),
using the chat template stored in the GGUF file. ``llama_cpp`` is imported only
when a model is loaded, so the rest of the app starts without it.
"""

import asyncio
import os
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import PrivateAttr

from assistant.config import Settings
from assistant.errors import ModelError
from assistant.llm.bundled import BundledModel, choose, ensure_model

_ROLES = {"human": "user", "ai": "assistant", "system": "system"}
_NEVER = threading.Event()  # the stop signal of a generation nobody can stop


@dataclass(frozen=True, slots=True)
class LocalModel:
    """The GGUF file the embedded backend loads, and how to sample from it.

    Attributes:
        name: what the UI shows (the bundled model's title, or the file's name).
        path: the GGUF file (``None`` until :func:`locate` has joined it).
        bundled: the bundled model, or ``None`` for ``local_model_path``.
    """

    name: str
    path: Path | None
    bundled: BundledModel | None


def describe(settings: Settings) -> LocalModel:
    """Which embedded model ``settings`` ask for, without touching its file.

    Raises:
        ModelError: the bundled model asked for is unknown, or none is installed.
    """
    if settings.local_model_path is not None:
        path = settings.local_model_path.expanduser()
        return LocalModel(path.name, path, None)
    model = choose(settings.local_model)
    return LocalModel(model.title, None, model)


def locate(settings: Settings) -> LocalModel:
    """:func:`describe`, with the file ready to load (joined and verified once).

    Raises:
        ModelError: the file does not exist, a bundled model is not installed, or
            its parts fail verification (see :func:`assistant.llm.bundled.ensure_model`).
    """
    local = describe(settings)
    if local.bundled is None:
        assert local.path is not None
        if not local.path.is_file():
            raise ModelError(
                f"The model file {local.path} does not exist. Fix local_model_path "
                "or remove it to use a bundled model."
            )
        return local
    path = ensure_model(local.bundled, settings.models_dir)
    return LocalModel(local.name, path, local.bundled)


#: Below this size a model decodes on one thread (bytes).
SMALL_MODEL_BYTES = 300_000_000


def default_threads(model_bytes: int) -> int:
    """Decoding threads for a model file of ``model_bytes``.

    A tiny model's token is so little work that threads spend it waiting on one
    another: one thread (SmolLM2-135M beside embeddings, 2 cores: 42 tok/s at 1
    thread, 37 at 2). A larger model gains from every core (Qwen2.5-Coder-1.5B:
    9.1 tok/s at 2 threads, 6.2 at 1; docs/benchmarks.md): all cores, at most 8."""
    if model_bytes < SMALL_MODEL_BYTES:
        return 1
    return max(1, min(os.cpu_count() or 1, 8))


def _to_openai(message: BaseMessage) -> dict[str, str]:
    role = _ROLES.get(message.type)
    if role is None:
        raise ValueError(f"ChatLlamaCpp cannot send a {message.type!r} message")
    return {"role": role, "content": message.text}


class ChatLlamaCpp(BaseChatModel):
    """A chat model run in process by llama.cpp.

    One generation runs at a time (llama.cpp contexts are not thread-safe); others wait.
    Streaming through :meth:`astream` runs the decoder in a worker thread, so the
    event loop stays free; cancelling the consuming task stops decoding at once,
    even in the middle of reading the prompt (llama.cpp's abort callback, checked
    between the compute graph's nodes), and waits for the decoder to stop: a
    process ending after Ctrl-C never frees the model under a running decode
    (issue 18: a segmentation fault in libggml, exit 139).

    Raises:
        ModelError: on construction, when the file cannot be loaded as a GGUF model.
    """

    model_path: str
    n_ctx: int = 4096
    n_threads: int | None = None
    """Decoding threads; default :func:`default_threads`. Prompts are read with all cores."""
    _threads: int = PrivateAttr(default=1)
    temperature: float = 0.7
    top_p: float = 0.95
    top_k: int = 40
    min_p: float = 0.05
    repeat_penalty: float = 1.0
    presence_penalty: float = 0.0
    stop: tuple[str, ...] = ()
    """Stop strings besides the model's own end-of-turn tokens (which llama.cpp
    always stops on)."""
    max_tokens: int = 768
    seed: int = -1

    _llama: Any = PrivateAttr(default=None)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _stop: threading.Event = PrivateAttr(default_factory=lambda: _NEVER)
    """Set to stop the generation that holds the lock (read by the abort callback)."""
    _abort_callback: Any = PrivateAttr(default=None)

    def model_post_init(self, context: Any, /) -> None:
        import llama_cpp

        try:
            size = Path(self.model_path).stat().st_size
        except OSError:
            size = 0
        self._threads = self.n_threads or default_threads(size)
        try:
            self._llama = llama_cpp.Llama(
                model_path=self.model_path,
                n_ctx=self.n_ctx,
                n_threads=self._threads,
                n_threads_batch=os.cpu_count() or 1,
                seed=self.seed if self.seed >= 0 else llama_cpp.LLAMA_DEFAULT_SEED,
                verbose=False,
            )
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelError(
                f"Cannot load the model file {self.model_path} ({exc}). "
                "Is it a GGUF chat model? Set local_model_path to another one."
            ) from exc
        # Kept on the object: ctypes must not collect the callback while C holds it.
        self._abort_callback = llama_cpp.ggml_abort_callback(lambda _: self._stop.is_set())
        llama_cpp.llama_set_abort_callback(self._llama._ctx.ctx, self._abort_callback, None)

    @property
    def threads(self) -> int:
        """The decoding threads in use."""
        return self._threads

    @property
    def _llm_type(self) -> str:
        return "llama-cpp"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_path": self.model_path, "n_ctx": self.n_ctx}

    def _completion(self, messages: list[BaseMessage], stop: list[str] | None, **kwargs: Any):
        return self._llama.create_chat_completion(
            messages=[_to_openai(m) for m in messages],
            temperature=kwargs.get("temperature", self.temperature),
            top_p=self.top_p,
            top_k=self.top_k,
            min_p=self.min_p,
            repeat_penalty=kwargs.get("repeat_penalty", self.repeat_penalty),
            presence_penalty=self.presence_penalty,
            max_tokens=kwargs.get("max_tokens", self.max_tokens),
            stop=[*self.stop, *(stop or [])],
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
            self._stop = kwargs.pop("stop_event", None) or _NEVER
            try:
                yield from self._chunks(messages, stop, run_manager, **kwargs)
            finally:
                self._stop = _NEVER

    def _chunks(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None,
        run_manager: CallbackManagerForLLMRun | None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        for part in self._completion(messages, stop, stream=True, **kwargs):
            if self._stop.is_set():
                return
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
                for chunk in self._stream(messages, stop, stop_event=stopped, **kwargs):
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
            stopped.set()  # the abort callback ends a decode in progress within ms
            # Wait for it: a process exiting right after a stop must not free the
            # model under a running decode. (A generation still waiting for the
            # lock stops as soon as it gets it; a reflection holding it gives way
            # to the chat at its next token.)
            worker.join(timeout=30)


def _usage(usage: dict[str, int] | None) -> Any:
    if not usage:
        return None
    return {
        "input_tokens": usage.get("prompt_tokens", 0),
        "output_tokens": usage.get("completion_tokens", 0),
        "total_tokens": usage.get("total_tokens", 0),
    }
