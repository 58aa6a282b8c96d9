"""What differs between training the interpolator and the colouriser, behind one interface."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from vidfuse.nets.chooser import CandidateChooser
from vidfuse.nets.colouriser import KeyframeColourNet
from vidfuse.nets.interpolator import RecurrentFlowRefiner
from vidfuse.train import colour_data, hybrid_data, interp_data
from vidfuse.train.data import Batch
from vidfuse.train.losses import build_loss

# (loss, [(prediction, truth), ...]) for one batch; the pairs feed validation PSNR.
Outcome = tuple[torch.Tensor, list[tuple[torch.Tensor, torch.Tensor]]]


@dataclass(frozen=True)
class Task:
    name: str
    make_model: Callable[[], nn.Module]
    augment: Callable[[Batch, np.random.Generator], Batch]
    run: Callable[[nn.Module, Batch, str, float], Outcome]


def _interpolation(model: nn.Module, batch: Batch, loss_name: str, alpha: float) -> Outcome:
    """Model (plain or DDP) along sequences; loss averaged over the gaps."""
    loss_fn = build_loss(loss_name)
    luma, chroma = batch["luma"], batch["chroma"]
    predicted, predicted_chroma = model(luma, chroma, batch["flows"], batch["ts"],
                                        int(batch["divisor"]))
    losses, pairs = [], []
    for gap in range(predicted.shape[1]):
        truth, chroma_truth = luma[:, 2 * gap + 1, None], chroma[:, 2 * gap + 1]
        guess = predicted[:, gap, None]
        losses.append(loss_fn(guess, truth, predicted_chroma[:, gap], chroma_truth, alpha))
        pairs.append((guess.detach(), truth))
    return torch.stack(losses).mean(), pairs


def _colour(model: nn.Module, batch: Batch, loss_name: str, alpha: float) -> Outcome:
    """Chroma from the aligned keyframe candidates; luma is exact, so the loss is on chroma."""
    luma = batch["luma"][:, None]
    predicted = model(luma, batch["lumas"], batch["chromas"], batch["confidences"],
                      batch["weights"], int(batch["divisor"]))
    loss = build_loss(loss_name)(luma, luma, predicted, batch["truth"], alpha)
    return loss, [(predicted.detach(), batch["truth"])]


def _hybrid(model: nn.Module, batch: Batch, loss_name: str, alpha: float) -> Outcome:
    """The two pictures mixed by the predicted share, against the truth (luma and chroma)."""
    luma, chroma = hybrid_data.mixed(model, batch)
    truth = batch["luma"][:, None]
    loss = build_loss(loss_name)(luma, truth, chroma, batch["chroma"], alpha)
    return loss, [(luma.detach(), truth)]


TASKS = {
    "interp": Task("interp", RecurrentFlowRefiner, interp_data.augment, _interpolation),
    "colour": Task("colour", KeyframeColourNet, colour_data.augment, _colour),
    "hybrid": Task("hybrid", CandidateChooser, hybrid_data.augment, _hybrid),
}
