"""Training data shared by both learned models: decoded clips, synthetic pans over still
photos, and banks of pre-cut samples (optical flow is the slow part, so it is done once).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import torch

from vidfuse.picture import Picture
from vidfuse.video.colour import ColourInfo, WorkingFormat, colour_of, frame_to_picture

# Tensors by name, plus the net's "divisor" (an int); keys differ per task.
Batch = dict[str, Any]

TRAINING_FORMAT = WorkingFormat("yuv420p", 8)


# One training sample: named arrays (uint8 images, float16 flows, float32 scalars) plus the
# net divisor of the frame it was cut from, under the key "divisor".
Sample = dict[str, np.ndarray]


@dataclass
class Manifest:
    """What a model saw: clip, frame range and sample count per source."""

    sources: list[dict[str, object]] = field(default_factory=list)
    pictures: list[str] = field(default_factory=list)  # what synthetic motion was made of

    def add(self, name: str, frames: int, samples: int, detail: str = "") -> None:
        self.sources.append({"source": name, "frames": frames, "samples": samples,
                             "detail": detail})

    def to_json(self) -> str:
        return json.dumps({"sources": self.sources, "pictures": self.pictures}, indent=2)


def decode_clip(path: Path, limit: int | None = None) -> list[Picture]:
    """All frames of a clip as 8-bit 4:2:0 pictures (explicit colour conversion)."""
    pictures: list[Picture] = []
    with av.open(str(path)) as container:
        colour: ColourInfo | None = None
        for frame in container.decode(video=0):
            colour = colour or colour_of(frame)
            pictures.append(frame_to_picture(frame, TRAINING_FORMAT, colour, len(pictures)))
            if limit is not None and len(pictures) >= limit:
                break
    return pictures


def panned_photo(photo: np.ndarray, width: int, height: int, count: int,
                 rng: np.random.Generator) -> list[Picture]:
    """A virtual camera panning and zooming over a photo, with two patches of another part of
    it sliding independently on top (so the network meets occlusions with known truth).

    Camera and patches accelerate (up to 1 pixel per frame², in random directions): real
    motion speeds up, slows down and curves, and the interpolator learns how far to trust
    the acceleration it measures from a frame's neighbours.
    """
    ph, pw = photo.shape[:2]
    zoom0 = max(width / pw, height / ph) * rng.uniform(1.1, 1.6)
    velocity = rng.uniform(-10, 10, 2)
    accel = rng.uniform(-1, 1, 2)
    zoom_rate = rng.uniform(-0.01, 0.01)
    patches = []
    for _ in range(2):
        size = rng.integers(height // 6, height // 2, 2)
        source = (rng.integers(0, int(pw - size[1] / zoom0)),
                  rng.integers(0, int(ph - size[0] / zoom0)))
        start = rng.uniform([0, 0], [width - size[1], height - size[0]])
        patches.append((size, source, start, rng.uniform(-14, 14, 2), rng.uniform(-1, 1, 2)))
    frames = []
    for i in range(count):
        zoom = zoom0 * (1 + zoom_rate * i)
        cx, cy = (np.array([pw, ph]) / 2 + (velocity * i + accel * i * i / 2) / zoom0)
        matrix = np.array([[zoom, 0, width / 2 - zoom * cx], [0, zoom, height / 2 - zoom * cy]])
        image = cv2.warpAffine(photo, matrix, (width, height), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REFLECT)
        for size, (sx, sy), start, speed, push in patches:
            x, y = start + speed * i + push * i * i / 2
            patch_matrix = np.array([[zoom0, 0, x - zoom0 * sx], [0, zoom0, y - zoom0 * sy]])
            layer = cv2.warpAffine(photo, patch_matrix, (width, height), flags=cv2.INTER_LINEAR)
            mask = cv2.warpAffine(np.ones((int(size[0] / zoom0), int(size[1] / zoom0)),
                                          np.float32),
                                  np.array([[zoom0, 0, x], [0, zoom0, y]]), (width, height),
                                  flags=cv2.INTER_LINEAR)
            image = (image * (1 - mask[..., None]) + layer * mask[..., None]).astype(np.uint8)
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image, dtype=np.uint8),
                                           format="rgb24")
        frames.append(frame_to_picture(frame, TRAINING_FORMAT, ColourInfo(1, False, 1, 1), i))
    return frames


def grouped(samples: list[Sample]) -> dict[str, np.ndarray]:
    """Samples stacked into arrays, grouped by net divisor and crop size (what a batch must
    share): key ``{name}_{divisor}_{crop}``."""

    def group_of(sample: Sample) -> str:
        return f"{int(sample['divisor'])}_{sample['luma'].shape[-1]}"

    arrays: dict[str, np.ndarray] = {}
    for group in sorted({group_of(s) for s in samples}):
        members = [s for s in samples if group_of(s) == group]
        for key in members[0]:
            values = np.stack([m[key] for m in members])
            arrays[f"{key}_{group}"] = values[0] if key == "divisor" else values
    return arrays


def save_samples(samples: list[Sample], path: Path) -> None:
    np.savez(path, **grouped(samples))  # type: ignore[arg-type]  # numpy's stub: no **arrays


class SampleBank:
    """Samples in memory, grouped by net divisor and crop; draws batches as float tensors."""

    def __init__(self, source: Path | Mapping[str, np.ndarray]) -> None:
        """``source``: a bank file written by `save_samples`, or `grouped` arrays."""
        data = np.load(source) if isinstance(source, Path) else source
        self.groups: dict[str, dict[str, np.ndarray]] = {}
        for key in data:
            name, group = key.split("_", 1)
            self.groups.setdefault(group, {})[name] = data[key]
        self.sizes = {g: len(arrays["luma"]) for g, arrays in self.groups.items()}

    def __len__(self) -> int:
        return sum(self.sizes.values())

    def batch(self, size: int, rng: np.random.Generator) -> Batch:
        """A batch from one group (chosen in proportion to its size); uint8 images become
        [0, 1] floats."""
        names = sorted(self.sizes)
        weights = np.array([self.sizes[n] for n in names], np.float64)
        group = self.groups[str(rng.choice(names, p=weights / weights.sum()))]
        index = rng.integers(0, len(group["luma"]), size)
        batch: Batch = {"divisor": int(group["divisor"])}
        for key, values in group.items():
            if key == "divisor":
                continue
            chosen = values[index]
            scale = 1.0 / 255.0 if chosen.dtype == np.uint8 else 1.0
            batch[key] = torch.from_numpy(chosen.astype(np.float32) * np.float32(scale))
        return batch




Cutter = Callable[[list[Picture], int, np.random.Generator], Iterable[Sample]]


@dataclass(frozen=True)
class BankPlan:
    """How many samples to cut from each source (before ``scale``). A clip is named as in
    `sources.CLIPS`, alone (all its frames) or with a frame range ("vtest:0-559"), so one
    clip can train a model on some frames and tune it on others."""

    validation_counts: dict[str, int]
    training_counts: dict[str, int]
    photo_sizes: tuple[tuple[int, int, int], ...]  # (width, height, sequences per photo)
    photo_frames: int
    samples_per_sequence: int
    synthetic_frames: int  # frames per composed sequence (long enough for the widest gap)


def build_bank(data: Path, out: Path, validation: bool, seed: int, scale: float,
               plan: BankPlan, cut: Cutter, synthetic: int = 0, clips: bool = True) -> Manifest:
    """Cut samples from the training (or validation) clips under ``data`` (plus panned photos
    for training) into ``out``; ``scale`` multiplies every count (tiny banks for tests).
    ``synthetic``: that many sequences composed from photographs too
    (`vidfuse.train.synthetic`); ``clips``: False for those alone."""
    from vidfuse.train.sources import CLIPS, TRAINING_PHOTOS

    rng = np.random.default_rng(seed)
    manifest = Manifest()
    samples: list[Sample] = []
    counts = plan.validation_counts if validation else plan.training_counts
    if synthetic:
        samples += _synthetic_samples(data, synthetic, plan, cut, rng, manifest)
    for source in counts if clips else ():
        name, first, last = _span(source)
        frames = decode_clip(data / CLIPS[name])[first:None if last is None else last + 1]
        made = list(cut(frames, max(1, round(counts[source] * scale)), rng))
        samples += made
        manifest.add(name, len(frames), len(made),
                     f"frames {first}-{first + len(frames) - 1}"
                     f"{'' if first or last is not None else ' (all)'}")
    if clips and not validation and plan.photo_sizes:
        for photo_path in TRAINING_PHOTOS:
            stored = cv2.imread(str(data / photo_path))
            if stored is None:
                raise FileNotFoundError(f"missing training photo {data / photo_path}")
            photo = cv2.cvtColor(stored, cv2.COLOR_BGR2RGB)
            before = len(samples)
            for width, height, sequences in plan.photo_sizes:
                for _ in range(max(1, round(sequences * scale))):
                    frames = panned_photo(photo, width, height, plan.photo_frames, rng)
                    samples += cut(frames, plan.samples_per_sequence, rng)
            sizes = ", ".join(f"{w}x{h}" for w, h, _ in plan.photo_sizes)
            manifest.add(photo_path, plan.photo_frames, len(samples) - before,
                         f"synthetic accelerating pan/zoom with moving patches, {sizes}")
    save_samples(samples, out)
    return manifest


def _span(source: str) -> tuple[str, int, int | None]:
    """"clip" or "clip:first-last" -> (clip, first, last or None)."""
    name, _, frames = source.partition(":")
    if not frames:
        return name, 0, None
    first, last = frames.split("-")
    return name, int(first), int(last)


def _synthetic_samples(data: Path, sequences: int, plan: BankPlan, cut: Cutter,
                       rng: np.random.Generator, manifest: Manifest) -> list[Sample]:
    from dataclasses import asdict

    from vidfuse.train.sources import SYNTHETIC_PACKAGES
    from vidfuse.train.synthetic import PictureSet, Recipe, synthetic_sequence

    pictures = PictureSet.find(data)
    recipe = Recipe(frames=plan.synthetic_frames)
    samples: list[Sample] = []
    for _ in range(sequences):
        samples += cut(synthetic_sequence(pictures, recipe, rng), plan.samples_per_sequence, rng)
    manifest.add("synthetic", recipe.frames * sequences, len(samples),
                 f"{sequences} sequences of {len(pictures.cutouts)} photographic cut-outs over "
                 f"{len(pictures.backgrounds)} photographs (Debian: "
                 f"{', '.join(SYNTHETIC_PACKAGES)}); recipe {asdict(recipe)}")
    manifest.pictures = pictures.sources
    return samples
