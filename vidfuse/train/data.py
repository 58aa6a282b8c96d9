"""Training samples for the interpolator, cut from real clips and from panned still photos.

A sample is a short sequence: key frames k0..kL with one ground-truth in-between frame per
gap (at t = j / stride), as a 256-pixel crop, together with the DIS flows between the keys,
computed on the whole frame exactly as the engine computes them at inference time and then
cropped. Samples are built once (optical flow is the slow part) and augmented on the fly.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import av
import cv2
import numpy as np
import torch

from vidfuse.api import DEFAULT_SCENE_THRESHOLD
from vidfuse.motion import FlowEstimator, resize_flow
from vidfuse.nets.interpolator import net_divisor
from vidfuse.picture import Picture
from vidfuse.scene import SceneCutDetector
from vidfuse.video.colour import ColourInfo, WorkingFormat, colour_of, frame_to_picture

TRAINING_FORMAT = WorkingFormat("yuv420p", 8)


@dataclass
class Sample:
    """One training sequence (numpy, compact): L gaps, 2L+1 frames."""

    luma: np.ndarray  # (2L+1, C, C) uint8: k0, g0, k1, g1, ..., kL
    chroma: np.ndarray  # (2L+1, 2, C/2, C/2) uint8
    flows: np.ndarray  # (L, 2, 2, C, C) float16: per gap, forward then backward, full pixels
    ts: np.ndarray  # (L,) float32
    divisor: int


@dataclass
class Manifest:
    """What a model saw: clip, frame range and sample count per source."""

    sources: list[dict[str, object]] = field(default_factory=list)

    def add(self, name: str, frames: int, samples: int, detail: str = "") -> None:
        self.sources.append({"source": name, "frames": frames, "samples": samples,
                             "detail": detail})

    def to_json(self) -> str:
        return json.dumps({"sources": self.sources}, indent=2)


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
    it sliding independently on top (so the network meets occlusions with known truth)."""
    ph, pw = photo.shape[:2]
    zoom0 = max(width / pw, height / ph) * rng.uniform(1.1, 1.6)
    velocity = rng.uniform(-10, 10, 2)
    zoom_rate = rng.uniform(-0.01, 0.01)
    patches = []
    for _ in range(2):
        size = rng.integers(height // 6, height // 2, 2)
        source = (rng.integers(0, int(pw - size[1] / zoom0)),
                  rng.integers(0, int(ph - size[0] / zoom0)))
        start = rng.uniform([0, 0], [width - size[1], height - size[0]])
        patches.append((size, source, start, rng.uniform(-14, 14, 2)))
    frames = []
    for i in range(count):
        zoom = zoom0 * (1 + zoom_rate * i)
        cx = pw / 2 + velocity[0] * i / zoom0
        cy = ph / 2 + velocity[1] * i / zoom0
        matrix = np.array([[zoom, 0, width / 2 - zoom * cx], [0, zoom, height / 2 - zoom * cy]])
        image = cv2.warpAffine(photo, matrix, (width, height), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REFLECT)
        for size, (sx, sy), start, speed in patches:
            x, y = start + speed * i
            patch_matrix = np.array([[zoom0, 0, x - zoom0 * sx], [0, zoom0, y - zoom0 * sy]])
            layer = cv2.warpAffine(photo, patch_matrix, (width, height), flags=cv2.INTER_LINEAR)
            mask = cv2.warpAffine(np.ones((int(size[0] / zoom0), int(size[1] / zoom0)),
                                          np.float32),
                                  np.array([[zoom0, 0, x], [0, zoom0, y]]), (width, height),
                                  flags=cv2.INTER_LINEAR)
            image = (image * (1 - mask[..., None]) + layer * mask[..., None]).astype(np.uint8)
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
        frames.append(frame_to_picture(frame, TRAINING_FORMAT, ColourInfo(1, False, 1, 1), i))
    return frames


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
        yield Sample(np.stack(lumas), np.stack(chromas), np.stack(flows).astype(np.float16),
                     np.array(ts, np.float32), divisor)


def save_samples(samples: list[Sample], path: Path) -> None:
    """Store samples grouped by net divisor and crop size (what a batch must share)."""
    arrays: dict[str, np.ndarray] = {}
    for divisor, crop in sorted({(s.divisor, s.luma.shape[-1]) for s in samples}):
        group = [s for s in samples if (s.divisor, s.luma.shape[-1]) == (divisor, crop)]
        arrays[f"divisor_{divisor}_{crop}"] = np.array(divisor)
        for key in ("luma", "chroma", "flows", "ts"):
            arrays[f"{key}_{divisor}_{crop}"] = np.stack([getattr(s, key) for s in group])
    np.savez(path, **arrays)


class SampleBank:
    """Samples in memory, grouped by net divisor; draws augmented batches as tensors."""

    def __init__(self, path: Path) -> None:
        data = np.load(path)
        self.groups: dict[str, dict[str, np.ndarray]] = {}
        for key in data.files:
            name, group = key.split("_", 1)
            self.groups.setdefault(group, {})[name] = data[key]
        self.sizes = {g: len(arrays["ts"]) for g, arrays in self.groups.items()}

    def __len__(self) -> int:
        return sum(self.sizes.values())

    def batch(self, size: int, rng: np.random.Generator,
              augment: bool = True) -> dict[str, torch.Tensor | int]:
        """A batch from one group (chosen in proportion to its size)."""
        names = sorted(self.sizes)
        weights = np.array([self.sizes[n] for n in names], np.float64)
        name = str(rng.choice(names, p=weights / weights.sum()))
        group = self.groups[name]
        divisor = int(group["divisor"])
        index = rng.integers(0, self.sizes[name], size)
        luma = torch.from_numpy(group["luma"][index].astype(np.float32) / 255.0)
        chroma = torch.from_numpy(group["chroma"][index].astype(np.float32) / 255.0)
        flows = torch.from_numpy(group["flows"][index].astype(np.float32))
        ts = torch.from_numpy(group["ts"][index])
        if augment:
            luma, chroma, flows, ts = _augment(luma, chroma, flows, ts, rng)
        return {"luma": luma, "chroma": chroma, "flows": flows, "ts": ts, "divisor": divisor}


def _augment(luma: torch.Tensor, chroma: torch.Tensor, flows: torch.Tensor, ts: torch.Tensor,
             rng: np.random.Generator) -> tuple[torch.Tensor, ...]:
    """Flips, time reversal and brightness, applied to the whole batch consistently."""
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
    gain = float(rng.uniform(0.8, 1.2))
    luma = (luma * gain).clamp(0, 1)
    return luma, chroma, flows, ts


def build_interpolation_bank(data: Path, out: Path, validation: bool, seed: int = 0,
                             scale: float = 1.0, crop: int = 224, gaps: int = 3) -> Manifest:
    """Cut samples from the training (or validation) clips under ``data`` into ``out``.

    ``scale`` multiplies every sample count (small values make a quick bank for smoke tests).
    """
    from vidfuse.train.sources import CLIPS, TRAINING_CLIPS, TRAINING_PHOTOS, VALIDATION_CLIPS

    rng = np.random.default_rng(seed)
    estimator = FlowEstimator()
    manifest = Manifest()
    samples: list[Sample] = []
    clip_counts = ({"bigbuckbunny": 24, "bikes": 24, "carphone": 24} if validation
                   else {"vtest": 300, "megamind": 240})
    for name in VALIDATION_CLIPS if validation else TRAINING_CLIPS:
        frames = decode_clip(data / CLIPS[name])
        count = max(1, round(clip_counts[name] * scale))
        samples += cut_samples(frames, count, gaps, crop, rng, estimator)
        manifest.add(name, len(frames), count, f"all frames 0-{len(frames) - 1}")
    if not validation:
        for photo_path in TRAINING_PHOTOS:
            photo = cv2.cvtColor(cv2.imread(str(data / photo_path)), cv2.COLOR_BGR2RGB)
            for width, height, sequences in ((1280, 720, 4), (640, 360, 1)):
                for _ in range(max(1, round(sequences * scale))):
                    frames = panned_photo(photo, width, height, 13, rng)
                    samples += cut_samples(frames, 6, gaps, crop, rng, estimator)
            manifest.add(photo_path, 13, 6 * 5, "synthetic pan/zoom with moving patches, "
                         "1280x720 and 640x360")
    save_samples(samples, out)
    return manifest
