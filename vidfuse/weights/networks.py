"""The networks behind the learned models, and their weights in and out: safetensors only,
never pickle.

Shipped weights live in the package `vidfuse.models` (the repository's `models/` folder), so
they are found after a plain `pip install .` and need no network; :func:`resolve` finds
every file. Each has a JSON model card beside it.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from vidfuse.errors import UsageError
from vidfuse.nets.chooser import CandidateChooser
from vidfuse.nets.colouriser import KeyframeColourNet
from vidfuse.nets.interpolator import RecurrentFlowRefiner
from vidfuse.weights.download import sha256
from vidfuse.weights.hub import resolve

# task -> the network class its weights are for
NETWORKS: dict[str, type[nn.Module]] = {
    "interp": RecurrentFlowRefiner,
    "colour": KeyframeColourNet,
    "hybrid": CandidateChooser,
}


def load_network(task: str, source: str | Path | None = None) -> nn.Module:
    """A ready (eval-mode) network for ``task`` from weights named or given as a file
    (None: the shipped default), found by :func:`resolve`."""
    network = NETWORKS[task]
    path = resolve(source, task)
    try:
        state = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise UsageError(f"{path} is not a safetensors file ({exc}); vidfuse never loads "
                         "pickled weights") from None
    model = network()
    try:
        model.load_state_dict(state)
    except RuntimeError:
        raise UsageError(f"{path} does not hold {network.__name__} weights (the {task} "
                         "network's architecture)") from None
    return model.eval()


def export_checkpoint(task: str, checkpoint: Path, out: Path) -> None:
    """Training checkpoint -> safetensors weights plus a JSON model card beside them.

    The card records the architecture, size, steps, sha256 and, when the run directory has
    them, the training configuration and the data manifest of the bank it trained on.
    """
    network = NETWORKS[task]
    saved = torch.load(checkpoint, weights_only=True)
    state = {k: v.contiguous() for k, v in saved["model"].items()}
    save_file(state, str(out), metadata={"architecture": network.__name__,
                                         "step": str(saved["step"])})
    card_path = out.with_suffix(".json")
    card = json.loads(card_path.read_text()) if card_path.exists() else {}
    card.update({
        "name": out.stem,
        "task": task,
        "architecture": network.__name__,
        "parameters": sum(v.numel() for v in state.values()),
        "training_steps": saved["step"],
        "sha256": sha256(out),
        "size_bytes": out.stat().st_size,
    })
    config_path = checkpoint.parent / "config.json"
    if config_path.exists():
        config = json.loads(config_path.read_text())
        card["training_config"] = config
        options = " ".join(f"--{k.replace('_', '-')} {v}" for k, v in config.items()
                           if k not in ("task", "resume") and v is not None)
        card["training_command"] = f"vidfuse train {task} {options}"
    manifest = checkpoint.parent / "manifest.json"
    if manifest.exists():
        card["training_data"] = json.loads(manifest.read_text())["sources"]
    out.chmod(0o644)
    card_path.write_text(json.dumps(card, indent=2) + "\n")
