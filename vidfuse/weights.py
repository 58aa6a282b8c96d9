"""Loading and exporting network weights: safetensors only, never pickle.

Shipped weights live in the package `vidfuse.models` (the repository's `models/` folder), so
they are found after a plain `pip install .` and need no network.
"""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from vidfuse.errors import UsageError
from vidfuse.nets.interpolator import RecurrentFlowRefiner

ARCHITECTURE = "RecurrentFlowRefiner"
DEFAULT_INTERPOLATOR = "interp-convlstm"


def shipped_path(name: str) -> Path:
    """Where the package keeps the shipped weights called ``name``."""
    return Path(str(resources.files("vidfuse.models") / f"{name}.safetensors"))


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_interpolator(source: str | Path = DEFAULT_INTERPOLATOR) -> RecurrentFlowRefiner:
    """A ready (eval-mode) interpolator from a shipped name or a local .safetensors file."""
    path = Path(source)
    if not path.suffix:
        path = shipped_path(str(source))
    if not path.is_file():
        raise UsageError(f"weights not found: {path}")
    try:
        state = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise UsageError(f"{path} is not a safetensors file ({exc}); vidfuse never loads "
                         "pickled weights") from None
    model = RecurrentFlowRefiner()
    try:
        model.load_state_dict(state)
    except RuntimeError:
        raise UsageError(f"{path} does not hold {ARCHITECTURE} weights (the learned "
                         "interpolator's architecture)") from None
    return model.eval()


def export_checkpoint(checkpoint: Path, out: Path) -> None:
    """Training checkpoint -> safetensors weights plus a JSON card stub beside them."""
    saved = torch.load(checkpoint, weights_only=True)
    state = {k: v.contiguous() for k, v in saved["model"].items()}
    save_file(state, str(out), metadata={"architecture": ARCHITECTURE,
                                         "step": str(saved["step"])})
    card = out.with_suffix(".json")
    existing = json.loads(card.read_text()) if card.exists() else {}
    existing.update({
        "name": out.stem,
        "architecture": ARCHITECTURE,
        "parameters": sum(v.numel() for v in state.values()),
        "training_steps": saved["step"],
        "sha256": sha256(out),
        "size_bytes": out.stat().st_size,
    })
    card.write_text(json.dumps(existing, indent=2) + "\n")
