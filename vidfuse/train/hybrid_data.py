"""Training samples for the `hybrid` engine's chooser: both frames warped along both
engines' motion to a left-out frame's instant, the cues between them, and the truth.

Each sample is drawn exactly as the engine draws it (`vidfuse.engines.hybrid.PairCandidates`
on the whole frame, `flow`'s acceleration included: the pair before is measured first),
then cropped: the cues at half resolution, the warped frames and the truth at full
resolution.
RIFE runs once per sample on the CPU (the slow part, ~0.3 s at 640x360), so the bank is
built once. The chooser trains on the first frames of vtest and Megamind, composed motion
and panned photos, and is tuned on the last frames of the two clips; the validation clips
(`sources.VALIDATION_CLIPS`) stay unseen by all of it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from vidfuse.engines.flow import FlowInterpolator
from vidfuse.engines.hybrid import PairCandidates, cue_size
from vidfuse.engines.rife import RifeInterpolator
from vidfuse.picture import Picture
from vidfuse.scene import DEFAULT_SCENE_THRESHOLD, SceneCutDetector
from vidfuse.train.data import BankPlan, Batch, Manifest, Sample, build_bank


def cut_samples(frames: list[Picture], count: int, crop: int, rng: np.random.Generator,
                pair: PairCandidates, crops: int = 2,
                strides: tuple[int, ...] = (2, 4)) -> Iterator[Sample]:
    """``count`` instants from random pairs ``stride`` frames apart (with the pairs before
    and after, as the engine sees them in a shot), ``crops`` square crops of each; ``crop``
    is the crop's side in cue pixels (half the frame's)."""
    height, width = frames[0].height, frames[0].width
    assert cue_size(width, height) == (width // 2, height // 2), "cues at exactly half size"
    crop = min(crop, height // 2, width // 2) // 2 * 2
    detector = SceneCutDetector(DEFAULT_SCENE_THRESHOLD)
    cut_before = np.cumsum([0] + [detector.is_cut(a, b) for a, b in itertools.pairwise(frames)])
    usable = [s for s in strides if 3 * s < len(frames)]
    made = 0
    while made < count:
        stride = int(rng.choice(usable))
        start = int(rng.integers(stride, len(frames) - 2 * stride))
        if cut_before[start + 2 * stride] != cut_before[start - stride]:
            continue  # the engine never mixes across a scene cut
        made += 1
        before, a, b, after = (frames[start + k * stride] for k in (-1, 0, 1, 2))
        offset = int(rng.integers(1, stride))
        truth = frames[start + offset]
        pair.reset()
        pair.candidates(before, a, [], b)  # the previous pair: flow's acceleration at a
        (warped, cues), = pair.candidates(a, b, [offset / stride], after)
        for _ in range(crops):
            y0 = int(rng.integers(0, height // 2 - crop + 1))
            x0 = int(rng.integers(0, width // 2 - crop + 1))

            def full(plane: np.ndarray, y0: int = y0, x0: int = x0) -> np.ndarray:
                return plane[2 * y0:2 * (y0 + crop), 2 * x0:2 * (x0 + crop)]

            def half(plane: np.ndarray, y0: int = y0, x0: int = x0) -> np.ndarray:
                return plane[y0:y0 + crop, x0:x0 + crop]

            yield {"cues": half(cues.transpose(1, 2, 0)).transpose(2, 0, 1).astype(np.float16),
                   "luma": full(truth.y),
                   "chroma": np.stack([half(truth.u), half(truth.v)]),
                   "lumas": np.stack([full(p.y) for p in warped]),
                   "chromas": np.stack([np.stack([half(p.u), half(p.v)]) for p in warped]),
                   "divisor": np.array(1)}


PLAN = BankPlan(
    validation_counts={"vtest:560-794": 80, "megamind:190-269": 60},
    training_counts={"vtest:0-559": 300, "megamind:0-189": 200},
    photo_sizes=((640, 360, 1),),
    photo_frames=13,
    samples_per_sequence=4,
    synthetic_frames=17,
)


def build_hybrid_bank(data: Path, out: Path, validation: bool, seed: int = 0,
                      scale: float = 1.0, synthetic: int = 0, clips: bool = True,
                      crop: int = 96) -> Manifest:
    """Chooser samples from the first frames of vtest and Megamind under ``data`` (for
    tuning, ``validation``: their last frames), panned photos and ``synthetic`` composed
    sequences (`PLAN`). Needs RIFE 4.0's weights installed."""
    pair = PairCandidates(FlowInterpolator("cpu"), RifeInterpolator("cpu"))
    return build_bank(data, out, validation, seed, scale, PLAN,
                      lambda frames, count, rng: cut_samples(frames, count, crop, rng, pair),
                      synthetic, clips)


def augment(batch: Batch, rng: np.random.Generator) -> Batch:
    """Flips (every cue is a magnitude or a picture: none changes sign)."""
    spatial = ("cues", "luma", "chroma", "lumas", "chromas")
    for axis in (-1, -2):
        if rng.random() < 0.5:
            batch = {**batch, **{key: batch[key].flip(axis) for key in spatial}}
    return batch


def mixed(model: torch.nn.Module,
          batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
    """The luma and chroma the engine would make of the batch's four warped frames."""
    weights = model(batch["cues"])
    lumas, chromas = batch["lumas"], batch["chromas"]
    luma_weights, chroma_weights = (
        torch.nn.functional.interpolate(weights, size=size, mode="bilinear",
                                        align_corners=False)
        for size in (lumas.shape[-2:], chromas.shape[-2:]))
    luma = (luma_weights * lumas).sum(1, keepdim=True)
    chroma = (chroma_weights[:, :, None] * chromas).sum(1)
    return luma, chroma
