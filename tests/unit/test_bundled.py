"""Assembly of a bundled model from its parts: joined in order, verified, and
refused whole (no half-written file) when a part is missing, the hash is wrong
or the disk is full."""

import hashlib
import importlib
import shutil
from pathlib import Path

import pytest

from assistant.errors import ModelError
from assistant.llm import bundled
from assistant.llm.bundled import MODELS, BundledModel, assemble, ensure_model, verified

CHUNKS = [b"GGUF-first-part|", b"second part|", b"third and last"]


def fake_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, sha256: str | None = None):
    """Three installed packages, each with one ``data/partNN.bin``, and their model."""
    site = tmp_path / "site"
    names = []
    for index, chunk in enumerate(CHUNKS, start=1):
        package = site / f"fake_model_part{index}"
        (package / "data").mkdir(parents=True)
        (package / "__init__.py").write_text("raise ImportError('never imported')\n")
        (package / "data" / f"part{index:02d}.bin").write_bytes(chunk)
        names.append(package.name)
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    whole = b"".join(CHUNKS)
    return BundledModel(
        name="fake",
        title="Fake-1B",
        file_name="fake.gguf",
        packages=tuple(names),
        pip_names=tuple(n.replace("_", "-") for n in names),
        size=len(whole),
        sha256=sha256 or hashlib.sha256(whole).hexdigest(),
        sampling=MODELS["default"].sampling,
    )


def test_parts_are_joined_in_order_and_verified(tmp_path, monkeypatch) -> None:
    model = fake_model(tmp_path, monkeypatch)
    seen: list[tuple[int, int]] = []
    path = ensure_model(model, tmp_path / "models", lambda done, total: seen.append((done, total)))
    assert path.read_bytes() == b"".join(CHUNKS)
    assert verified(model, path, tmp_path / "models")
    assert seen[-1] == (model.size, model.size)
    # Once verified, later starts neither join nor hash again.
    assert ensure_model(model, tmp_path / "models", lambda *a: pytest.fail("re-read")) == path


def test_a_wrong_hash_is_refused_and_leaves_nothing(tmp_path, monkeypatch) -> None:
    model = fake_model(tmp_path, monkeypatch, sha256="0" * 64)
    with pytest.raises(ModelError, match=r"sha256.*refusing"):
        assemble(model, tmp_path / "models")
    assert [p.name for p in (tmp_path / "models").iterdir() if not p.name.endswith(".lock")] == []


def test_a_missing_part_is_named(tmp_path, monkeypatch) -> None:
    model = fake_model(tmp_path, monkeypatch)
    shutil.rmtree(tmp_path / "site" / "fake_model_part2")
    importlib.invalidate_caches()
    with pytest.raises(ModelError, match=r"fake-model-part2 missing.*scripts/setup --model fake"):
        ensure_model(model, tmp_path / "models")
    assert not (tmp_path / "models" / "fake.gguf").exists()


def test_a_full_disk_is_a_clear_error_with_no_partial_file(tmp_path, monkeypatch) -> None:
    model = fake_model(tmp_path, monkeypatch)
    real_open = Path.open

    def full(self: Path, mode: str = "r", *args, **kwargs):
        handle = real_open(self, mode, *args, **kwargs)
        if "w" in mode and self.name.endswith(".partial"):

            def write(data: bytes) -> int:
                raise OSError(28, "No space left on device")

            handle.write = write  # type: ignore[method-assign]
        return handle

    monkeypatch.setattr(Path, "open", full)
    with pytest.raises(ModelError, match="No space left on device"):
        assemble(model, tmp_path / "models")
    assert not any(p.suffix == ".partial" for p in (tmp_path / "models").iterdir())
    assert not (tmp_path / "models" / "fake.gguf").exists()


def test_too_little_free_space_is_refused_before_writing(tmp_path, monkeypatch) -> None:
    model = fake_model(tmp_path, monkeypatch)
    monkeypatch.setattr(bundled.shutil, "disk_usage", lambda p: shutil._ntuple_diskusage(9, 9, 1))
    with pytest.raises(ModelError, match="Not enough disk space"):
        assemble(model, tmp_path / "models")


def test_a_damaged_joined_file_is_joined_again(tmp_path, monkeypatch) -> None:
    model = fake_model(tmp_path, monkeypatch)
    path = ensure_model(model, tmp_path / "models")
    path.write_bytes(b"X" * model.size)  # same size, other bytes: the record no longer holds
    assert ensure_model(model, tmp_path / "models").read_bytes() == b"".join(CHUNKS)


def test_the_extras_pin_exactly_the_registered_parts() -> None:
    import tomllib

    project = tomllib.loads(Path("pyproject.toml").read_text())["project"]
    for extra, name in (("default-model", "default"), ("small-model", "small")):
        pins = [p.split("==")[0] for p in project["optional-dependencies"][extra]]
        assert pins == list(MODELS[name].pip_names)
        assert all("==" in p for p in project["optional-dependencies"][extra])
