"""Interpolator training samples: short sequences cut from real clips and panned photos.

A sample is key frames k0..kL with one ground-truth in-between frame per gap (at t = j /
stride), as a square crop, together with the DIS flows between the keys, computed on the whole
frame exactly as the engine computes them at inference time, then cropped.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from vidfuse.motion import FlowEstimator, resize_flow
from vidfuse.nets.interpolator import net_divisor
from vidfuse.picture import Picture
from vidfuse.scene import DEFAULT_SCENE_THRESHOLD, SceneCutDetector
from vidfuse.train.data import BankPlan, Batch, Manifest, Sample, build_bank


def cut_samples(frames: list[Picture], count: int, gaps: int, crop: int,
                rng: np.random.Generator, estimator: FlowEstimator,
                strides: tuple[int, ...] = (2, 4)) -> Iterator[Sample]:
    """Random sequences from consecutive frames: keys every ``stride`` frames, one ground
    truth per gap at a random position inside it."""
    height, width = frames[0].height, frames[0].width
    divisor = net_divisor(width)
    crop = min(crop, height, width) // 8 * 8
    detector = SceneCutDetector(DEFAULT_SCENE_THRESHOLD)
    cut_before = np.cumsum([0] + [detector.is_cut(a, b) for a, b in itertools.pairwise(frames)])
    made = 0
    while made < count:
        stride = int(rng.choice([s for s in strides if s * gaps < len(frames)]))
        start = int(rng.integers(0, len(frames) - stride * gaps))
        if cut_before[start + stride * gaps] != cut_before[start]:
            continue  # never learn to morph across a scene cut
        made += 1
        y0 = int(rng.integers(0, height - crop + 1)) // 2 * 2
        x0 = int(rng.integers(0, width - crop + 1)) // 2 * 2
        lumas, chromas, flows, ts = [], [], [], []
        for gap in range(gaps):
            a, b = frames[start + gap * stride], frames[start + (gap + 1) * stride]
            offset = int(rng.integers(1, stride))
            truth = frames[start + gap * stride + offset]
            forward, backward = estimator.bidirectional(a, b)
            pair = [resize_flow(f, width, height)[y0:y0 + crop, x0:x0 + crop]
                    for f in (forward, backward)]
            flows.append(np.stack([p.transpose(2, 0, 1) for p in pair]))
            ts.append(offset / stride)
            for picture in (a, truth):
                lumas.append(picture.y[y0:y0 + crop, x0:x0 + crop])
                chromas.append(np.stack([
                    p[y0 // 2:(y0 + crop) // 2, x0 // 2:(x0 + crop) // 2]
                    for p in (picture.u, picture.v)]))
        last = frames[start + gaps * stride]
        lumas.append(last.y[y0:y0 + crop, x0:x0 + crop])
        chromas.append(np.stack([p[y0 // 2:(y0 + crop) // 2, x0 // 2:(x0 + crop) // 2]
                                 for p in (last.u, last.v)]))
        yield {"luma": np.stack(lumas), "chroma": np.stack(chromas),
               "flows": np.stack(flows).astype(np.float16), "ts": np.array(ts, np.float32),
               "divisor": np.array(divisor)}


PLAN = BankPlan(
    validation_counts={"bigbuckbunny": 24, "bikes": 24, "carphone": 24},
    training_counts={"vtest": 300, "megamind": 240},
    photo_sizes=((1280, 720, 4), (640, 360, 1)),
    photo_frames=13,
    samples_per_sequence=6,
    synthetic_frames=17,
)


def build_interpolation_bank(data: Path, out: Path, validation: bool, seed: int = 0,
                             scale: float = 1.0, synthetic: int = 0, clips: bool = True,
                             crop: int = 224, gaps: int = 3) -> Manifest:
    """Interpolator samples from the training (or validation) clips under ``data``, and
    ``synthetic`` sequences composed from photographs."""
    estimator = FlowEstimator()
    return build_bank(data, out, validation, seed, scale, PLAN,
                      lambda frames, count, rng: cut_samples(frames, count, gaps, crop, rng,
                                                             estimator),
                      synthetic, clips)


def augment(batch: Batch,
            rng: np.random.Generator) -> Batch:
    """Flips, time reversal and brightness, applied to the whole batch consistently."""
    luma, chroma, flows, ts = batch["luma"], batch["chroma"], batch["flows"], batch["ts"]
    if rng.random() < 0.5:  # horizontal flip: x components change sign
        luma, chroma, flows = luma.flip(-1), chroma.flip(-1), flows.flip(-1)
        flows = flows * torch.tensor([-1.0, 1.0]).view(1, 1, 1, 2, 1, 1)
    if rng.random() < 0.5:  # vertical flip
        luma, chroma, flows = luma.flip(-2), chroma.flip(-2), flows.flip(-2)
        flows = flows * torch.tensor([1.0, -1.0]).view(1, 1, 1, 2, 1, 1)
    if rng.random() < 0.5:  # play backwards: frames reversed, forward <-> backward, t -> 1-t
        luma, chroma = luma.flip(1), chroma.flip(1)
        flows = flows.flip(1).flip(2)
        ts = 1.0 - ts.flip(1)
    luma = (luma * float(rng.uniform(0.8, 1.2))).clamp(0, 1)
    return {**batch, "luma": luma, "chroma": chroma, "flows": flows, "ts": ts}
