"""`--adapt`: fine-tune the learned colouriser on the video's own keyframes before using it.

The research code's idea ("learn from the corresponding RGB frames"): every keyframe is a grey frame
whose colour we know. Predicting a keyframe from its neighbouring keyframes (aligned exactly
as at inference, one gap further away) is a training sample from this very video: its
palette, lighting and motion. A few steps of fine-tuning on such samples start from the
shipped weights; every fourth keyframe is held out, and the tuned weights are kept only if
they beat the shipped ones there.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from vidfuse.colourisers import Colouriser
from vidfuse.colourisers.alignment import KeyframeAligner, candidate_weights
from vidfuse.colourisers.learned import AutoencoderColouriser
from vidfuse.errors import UsageError
from vidfuse.fusion import ADAPT_FRAMES, ADAPT_KEYFRAMES
from vidfuse.keyframes import KeyframeSource
from vidfuse.nets.interpolator import net_divisor
from vidfuse.picture import Picture
from vidfuse.scene import SceneCutDetector
from vidfuse.train.colour_data import augment, crop_sample, random_corner
from vidfuse.train.data import Sample, SampleBank, grouped
from vidfuse.train.tasks import TASKS
from vidfuse.train.trainer import to_device, validate

_CROP = 224
_CROPS_PER_KEYFRAME = 4
_BATCH = 4
_LEARNING_RATE = 3e-4


@dataclass(frozen=True)
class AdaptReport:
    steps: int
    keyframes: int
    held_out_before: float | None  # chroma PSNR (dB) on held-out keyframes, shipped weights
    held_out_after: float | None
    kept: bool  # the fine-tuned weights are in use (they beat the shipped ones held out)

    def describe(self) -> str:
        if self.held_out_before is None or self.held_out_after is None:
            return (f"not adapted: {self.keyframes} keyframe(s) in shots with two or more, "
                    "4 needed")
        outcome = "kept" if self.kept else "not kept, shipped weights used"
        return (f"adapted {self.steps} steps on {self.keyframes} keyframes, held-out "
                f"keyframes {self.held_out_before:.2f} -> {self.held_out_after:.2f} dB chroma "
                f"PSNR ({outcome})")


def collect_keyframes(pictures: Iterable[Picture], keys: KeyframeSource,
                      cuts: SceneCutDetector, limit: int = ADAPT_KEYFRAMES,
                      frames: int = ADAPT_FRAMES) -> list[list[Picture]]:
    """The first ``limit`` keyframes (input luma, keyframe chroma) within the first
    ``frames`` frames, grouped by shot: the extra decoding pass stays short."""
    shots: list[list[Picture]] = [[]]
    previous: Picture | None = None
    found = 0
    for index, picture in enumerate(itertools.islice(pictures, frames)):
        if previous is not None and cuts.is_cut(previous, picture) and shots[-1]:
            shots.append([])
        previous = picture
        key = keys.keyframe_for(index, picture)
        if key is not None:
            shots[-1].append(picture.with_chroma_of(key))
            found += 1
            if found >= limit:
                break
    return [shot for shot in shots if len(shot) > 1]


def adaptable(colouriser: Colouriser) -> bool:
    return isinstance(colouriser, AutoencoderColouriser)


def adapt(colouriser: Colouriser, shots: list[list[Picture]], steps: int, seed: int = 0,
          on_step: Callable[[int], None] | None = None) -> AdaptReport:
    """Fine-tune ``colouriser`` (the learned one) in place on keyframes from ``shots``."""
    if not isinstance(colouriser, AutoencoderColouriser):  # (narrows the type, too)
        raise UsageError(f"--adapt fine-tunes the learned colouriser (ae), not "
                         f"'{colouriser.name}': use --colouriser ae or --adapt 0")
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    shots = [[_training_layout(p) for p in shot] for shot in shots]
    targets = [(shot, i) for shot in shots for i in range(len(shot))]
    held = set(range(3, len(targets), 4)) if len(targets) >= 4 else set()
    train: list[Sample] = []
    check: list[Sample] = []
    aligner = KeyframeAligner()
    for number, (shot, i) in enumerate(targets):
        samples = check if number in held else train
        samples += _samples(shot, i, aligner, rng)
    if not check:  # too few keyframes to tell whether fine-tuning helps: leave the weights
        return AdaptReport(0, len(targets), None, None, kept=False)
    model, device = colouriser.model, colouriser.device
    task = TASKS["colour"]
    bank = SampleBank(grouped(train))
    held_bank = SampleBank(grouped(check))
    before = validate(task, model, held_bank, device)
    shipped = {name: value.clone() for name, value in model.state_dict().items()}
    optimizer = torch.optim.Adam(model.parameters(), lr=_LEARNING_RATE)
    model.train()
    for step in range(steps):
        batch = to_device(augment(bank.batch(_BATCH, rng), rng), device)
        loss, _ = task.run(model, batch, "charbonnier", 0.0)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if on_step is not None:
            on_step(step + 1)
    model.eval()
    after = validate(task, model, held_bank, device)
    kept = after > before
    if not kept:  # fine-tuning must earn its place on keyframes it did not see
        model.load_state_dict(shipped)
    return AdaptReport(steps, len(targets), before, after, kept)


def _samples(shot: list[Picture], i: int, aligner: KeyframeAligner,
             rng: np.random.Generator) -> list[Sample]:
    """Keyframe ``i`` of ``shot`` predicted from its neighbours (one if at an end).

    Only keyframes were read, so there is no chain of grey frames between them: each
    neighbour's direct alignment stands in for its chained one too.
    """
    target = shot[i]
    before = shot[i - 1] if i > 0 else None
    after = shot[i + 1] if i + 1 < len(shot) else None
    first = aligner.align(target, before or after)  # type: ignore[arg-type]
    second = aligner.align(target, after) if before and after else first
    weights = candidate_weights(0.5 if before and after else 1.0)
    crop = min(_CROP, target.height, target.width) // 8 * 8
    divisor = net_divisor(target.width)
    return [crop_sample(target, (first, first, second, second), weights,
                        random_corner(rng, target, crop), crop, divisor)
            for _ in range(_CROPS_PER_KEYFRAME)]


def _training_layout(picture: Picture) -> Picture:
    """8-bit 4:2:0, the layout training samples are stored in, whatever the input's."""
    def eight_bit(plane: np.ndarray) -> np.ndarray:
        if picture.bits == 8:
            return plane
        return (plane.astype(np.float32) * (255 / picture.max_value) + 0.5).astype(np.uint8)

    size = ((picture.width + 1) // 2, (picture.height + 1) // 2)
    u, v = (cv2.resize(eight_bit(c), size, interpolation=cv2.INTER_AREA)
            if c.shape[::-1] != size else eight_bit(c) for c in (picture.u, picture.v))
    return Picture(eight_bit(picture.y), u, v, 8, picture.time)
