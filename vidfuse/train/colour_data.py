"""Colouriser training samples: a grey frame between two colour keyframes, aligned.

For a keyframe gap of 8 or 32 frames, a frame inside the gap loses its colour; both keyframes
are aligned to it exactly as the colouriser does at inference time (`KeyframeAligner`, on the
whole frame, directly and chained through the gap), then the same crop is cut from
everything.
"""

from __future__ import annotations

import collections
import itertools
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch

from vidfuse.colourisers.alignment import (
    AlignedKeyframe,
    KeyframeAligner,
    candidate_weights,
    temporal_weight,
)
from vidfuse.nets.interpolator import net_divisor
from vidfuse.picture import Picture
from vidfuse.scene import DEFAULT_SCENE_THRESHOLD, SceneCutDetector
from vidfuse.train.data import BankPlan, Batch, Manifest, Sample, build_bank

GAPS = (8, 32)


def _u8(image: np.ndarray) -> np.ndarray:
    return np.clip(image * 255 + 0.5, 0, 255).astype(np.uint8)


def cut_colour_samples(frames: list[Picture], count: int, crop: int, rng: np.random.Generator,
                       aligner: KeyframeAligner) -> Iterator[Sample]:
    height, width = frames[0].height, frames[0].width
    divisor = net_divisor(width)
    crop = min(crop, height, width) // 8 * 8
    detector = SceneCutDetector(DEFAULT_SCENE_THRESHOLD)
    cut_before = np.cumsum([0] + [detector.is_cut(a, b) for a, b in itertools.pairwise(frames)])
    gaps = [g for g in GAPS if g < len(frames)]
    made = 0
    while made < count:
        gap = int(rng.choice(gaps))
        start = int(rng.integers(0, len(frames) - gap))
        if cut_before[start + gap] != cut_before[start]:
            continue  # colour never crosses a scene cut
        made += 1
        offset = int(rng.integers(1, gap))
        before, after = frames[start], frames[start + gap]
        grey = frames[start + offset]
        # Chains from each keyframe up to the chosen frame, as `align_gap` builds them.
        back = _last(aligner.chained_flows(frames[start + 1:start + offset + 1], before))
        forth = _last(aligner.chained_flows(frames[start + gap - 1:start + offset - 1:-1], after))
        aligned = aligner.candidates(grey, before, after, back, forth)
        yield crop_sample(grey, aligned, candidate_weights(temporal_weight(grey, before, after)),
                          random_corner(rng, grey, crop), crop, divisor)


def _last(flows: Iterator[np.ndarray]) -> np.ndarray:
    return collections.deque(flows, maxlen=1)[0]


def random_corner(rng: np.random.Generator, frame: Picture, crop: int) -> tuple[int, int]:
    """A random even top-left corner for a ``crop`` square (even: chroma is 4:2:0)."""
    return (int(rng.integers(0, frame.height - crop + 1)) // 2 * 2,
            int(rng.integers(0, frame.width - crop + 1)) // 2 * 2)


def crop_sample(grey: Picture, aligned: Sequence[AlignedKeyframe], weights: np.ndarray,
                corner: tuple[int, int], crop: int, divisor: int) -> Sample:
    """One training sample: the grey frame's luma and true chroma, and the aligned keyframe
    candidates with their temporal ``weights``, cut to the same ``crop`` square at
    ``corner``. ``grey`` is 8-bit 4:2:0."""
    y0, x0 = corner

    def luma_crop(image: np.ndarray) -> np.ndarray:
        return image[y0:y0 + crop, x0:x0 + crop]

    def chroma_crop(image: np.ndarray) -> np.ndarray:
        return image[y0 // 2:(y0 + crop) // 2, x0 // 2:(x0 + crop) // 2]

    sample: Sample = {
        "luma": luma_crop(grey.y),
        "truth": np.stack([chroma_crop(grey.u), chroma_crop(grey.v)]),
        "weights": weights.astype(np.float32),
        "divisor": np.array(divisor),
        "lumas": np.stack([_u8(chroma_crop(key.luma)) for key in aligned]),
        "chromas": np.stack([_u8(chroma_crop(key.chroma)).transpose(2, 0, 1)
                             for key in aligned]),
        "confidences": np.stack([_u8(chroma_crop(np.minimum(key.confidence, 1.0)))
                                 for key in aligned]),
    }
    return sample


PLAN = BankPlan(
    validation_counts={"bigbuckbunny": 32, "bikes": 32, "carphone": 32},
    training_counts={"vtest": 500, "megamind": 400},
    photo_sizes=((1280, 720, 2), (640, 360, 2)),
    photo_frames=33,
    samples_per_sequence=8,
    synthetic_frames=33,
)


def build_colour_bank(data: Path, out: Path, validation: bool, seed: int = 0,
                      scale: float = 1.0, synthetic: int = 0, clips: bool = True,
                      crop: int = 224) -> Manifest:
    """Colouriser samples from the training (or validation) clips under ``data``, and
    ``synthetic`` sequences composed from photographs (objects entering, leaving and passing
    each other: colour no keyframe shows)."""
    aligner = KeyframeAligner()
    return build_bank(data, out, validation, seed, scale, PLAN,
                      lambda frames, count, rng: cut_colour_samples(frames, count, crop, rng,
                                                                    aligner),
                      synthetic, clips)


def augment(batch: Batch,
            rng: np.random.Generator) -> Batch:
    """Flips, keyframe order, a missing second keyframe, brightness: whole batch at once."""
    images = [k for k, v in batch.items() if isinstance(v, torch.Tensor) and v.ndim >= 3]
    batch = dict(batch)
    for axis in (-1, -2):
        if rng.random() < 0.5:
            for key in images:
                batch[key] = batch[key].flip(axis)
    candidates = ("lumas", "chromas", "confidences", "weights")
    if rng.random() < 0.5:  # the keyframes swap roles (candidates: 2 before, then 2 after)
        for key in candidates:
            batch[key] = batch[key][:, [2, 3, 0, 1]]
    if rng.random() < 0.25:  # only one keyframe (a shot's start or end: common at cuts)
        for key in candidates:
            batch[key] = batch[key][:, [0, 1, 0, 1]]
        batch["weights"] = torch.tensor([1.0, 1.0, 0.0, 0.0]).expand_as(batch["weights"])
    gain = float(rng.uniform(0.8, 1.2))
    for key in ("luma", "lumas"):
        batch[key] = (batch[key] * gain).clamp(0, 1)
    return batch
