"""Large motion with exact ground truth, composed from photographs (as FlyingChairs and
FlyingThings were): photographic cut-outs moving over a photographed background.

Real clips have little fast motion, and fast motion is where classical flow breaks. Here
every layer moves along its own curved, accelerating path: the background as a camera that
pans and zooms, each cut-out translating, rotating and scaling, in front of or behind the
others. Every frame of the sequence is rendered, so the frames a stride leaves out are the
exact truth. Each frame is integrated over an open shutter (motion blur), gets sensor noise
and goes through H.264 as real footage has, in- and between-frames alike.

Deterministic for a seed: the same pictures and seed give the same frames.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np

from vidfuse.picture import Picture
from vidfuse.train.data import TRAINING_FORMAT
from vidfuse.train.sources import BACKGROUNDS, CUTOUTS
from vidfuse.video.colour import colour_of, frame_to_picture

# A cut-out counts as photographic (not clip art) with this many distinct colours (at 6 bits
# per channel) under its opaque pixels, and this many pixels on its shorter side.
_PHOTO_COLOURS = 2000
_MIN_SIDE = 150


@dataclass(frozen=True)
class Recipe:
    """How sequences are composed; recorded in the model card with the seed."""

    width: int = 640
    height: int = 360
    frames: int = 17
    layers: tuple[int, int] = (1, 4)  # cut-outs per sequence, inclusive
    speed: float = 0.05  # the most a layer moves per frame, as a share of the width
    acceleration: float = 0.004  # the most its speed changes per frame, share of the width
    spin: float = 4.0  # the most a cut-out turns per frame, degrees
    blur_steps: int = 4  # renders averaged per frame over the open shutter
    noise: float = 3.0  # the most sensor noise, 8-bit standard deviation
    crf: tuple[int, int] = (16, 30)  # H.264 quality range


@dataclass
class PictureSet:
    """The cut-outs (RGBA) and backgrounds (RGB) sequences are composed from."""

    cutouts: list[np.ndarray]
    backgrounds: list[np.ndarray]
    sources: list[str]

    @classmethod
    def find(cls, data: Path) -> PictureSet:
        """The photographic cut-outs and the photographs under ``data`` (laid out as the
        Debian packages in `sources.SYNTHETIC_PACKAGES` unpack)."""
        cutouts, backgrounds, sources = [], [], []
        for path in sorted((data / CUTOUTS).rglob("*.png")):
            if path.with_suffix(".svg").exists():  # drawn, not photographed
                continue
            image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
            if image is None or image.ndim != 3 or image.shape[2] != 4:
                continue
            if min(image.shape[:2]) < _MIN_SIDE:
                continue
            opaque = image[image[..., 3] > 128][:, :3] // 4
            if len(np.unique(opaque, axis=0)) < _PHOTO_COLOURS:
                continue
            cutouts.append(cv2.cvtColor(image, cv2.COLOR_BGRA2RGBA))
            sources.append(str(path.relative_to(data)))
        for pattern in BACKGROUNDS:
            for path in sorted(data.glob(pattern)):
                image = cv2.imread(str(path), cv2.IMREAD_COLOR)
                if image is None:
                    continue
                # Wallpapers run to 5312 px: 1280 across is plenty for a 640-wide camera.
                scale = min(1.0, 1280 / image.shape[1])
                image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
                backgrounds.append(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
                sources.append(str(path.relative_to(data)))
        if not cutouts or not backgrounds:
            raise FileNotFoundError(f"no cut-outs or backgrounds under {data}: run "
                                    "`python benchmarks/datasets.py --training`")
        return cls(cutouts, backgrounds, sources)


@dataclass(frozen=True)
class _Path:
    """A layer's motion: position, angle and scale as functions of time (in frames)."""

    start: np.ndarray
    velocity: np.ndarray
    acceleration: np.ndarray
    wobble: np.ndarray  # amplitude of a sideways swing (curved paths), pixels
    period: float
    angle: float
    spin: float
    scale: float
    growth: float

    def at(self, s: float) -> tuple[np.ndarray, float, float]:
        swing = self.wobble * np.sin(2 * np.pi * s / self.period)
        position = self.start + self.velocity * s + self.acceleration * s * s / 2 + swing
        return position, self.angle + self.spin * s, self.scale * (1 + self.growth * s)


def _random_path(recipe: Recipe, rng: np.random.Generator, start: np.ndarray,
                 scale: float, spin: float) -> _Path:
    width = recipe.width
    # Speeds spread evenly up to the most, so slow and fast motion are both common.
    speed = rng.uniform(0, recipe.speed) * width
    direction = rng.uniform(0, 2 * np.pi)
    velocity = speed * np.array([np.cos(direction), np.sin(direction)])
    return _Path(start=start, velocity=velocity,
                 acceleration=rng.uniform(-1, 1, 2) * recipe.acceleration * width,
                 wobble=rng.uniform(-1, 1, 2) * rng.uniform(0, 0.03) * width,
                 period=float(rng.uniform(8, 30)), angle=float(rng.uniform(-30, 30) * spin),
                 spin=float(rng.uniform(-1, 1) * recipe.spin * spin), scale=scale,
                 growth=float(rng.uniform(-0.02, 0.02)))


def _affine(centre: np.ndarray, angle: float, scale: float,
            anchor: tuple[float, float]) -> np.ndarray:
    """The matrix that puts ``anchor`` (in the source) at ``centre``, turned and scaled."""
    matrix = cv2.getRotationMatrix2D(anchor, angle, scale)
    matrix[:, 2] += centre - np.asarray(anchor)
    return matrix


def compose_sequence(pictures: PictureSet, recipe: Recipe,
                     rng: np.random.Generator) -> list[np.ndarray]:
    """One sequence of ``recipe.frames`` RGB frames (before noise and codec)."""
    width, height = recipe.width, recipe.height
    background = pictures.backgrounds[int(rng.integers(len(pictures.backgrounds)))]
    bh, bw = background.shape[:2]
    cover = max(width / bw, height / bh) * float(rng.uniform(1.3, 2.0))
    camera = _random_path(recipe, rng, np.array([width / 2, height / 2]), cover, 0.1)
    layers = []
    for _ in range(int(rng.integers(recipe.layers[0], recipe.layers[1] + 1))):
        cutout = pictures.cutouts[int(rng.integers(len(pictures.cutouts)))]
        size = float(rng.uniform(0.2, 0.7)) * height / max(cutout.shape[:2])
        start = rng.uniform([0.1 * width, 0.1 * height], [0.9 * width, 0.9 * height])
        layers.append((cutout, _random_path(recipe, rng, start, size, 1.0)))
    shutter = float(rng.uniform(0, 0.5))  # share of a frame the shutter is open
    frames = []
    for index in range(recipe.frames):
        total = np.zeros((height, width, 3), np.float32)
        for step in range(recipe.blur_steps):
            s = index + shutter * ((step + 0.5) / recipe.blur_steps - 0.5)
            position, angle, scale = camera.at(s)
            image = cv2.warpAffine(background, _affine(position, angle, scale,
                                                       (bw / 2, bh / 2)), (width, height),
                                   flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
            image = image.astype(np.float32)
            for cutout, path in layers:
                position, angle, scale = path.at(s)
                anchor = (cutout.shape[1] / 2, cutout.shape[0] / 2)
                layer = cv2.warpAffine(cutout, _affine(position, angle, scale, anchor),
                                       (width, height), flags=cv2.INTER_LINEAR,
                                       borderMode=cv2.BORDER_CONSTANT).astype(np.float32)
                alpha = layer[..., 3:] / 255
                image = image * (1 - alpha) + layer[..., :3] * alpha
            total += image
        frames.append(total / recipe.blur_steps)
    noise = float(rng.uniform(0, recipe.noise))
    return [np.clip(f + rng.normal(0, noise, f.shape), 0, 255).astype(np.uint8)
            for f in frames]


def through_codec(frames: list[np.ndarray], crf: int) -> list[Picture]:
    """The frames as H.264 (4:2:0, the given quality) would give them back."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="matroska") as container:
        stream = container.add_stream("libx264", rate=25, options={"crf": str(crf),
                                                                   "preset": "veryfast"})
        stream.width, stream.height = frames[0].shape[1], frames[0].shape[0]
        stream.pix_fmt = "yuv420p"
        stream.thread_count = 1  # bit-exact for a seed, whatever the machine
        for rgb in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        container.mux(stream.encode(None))
    buffer.seek(0)
    with av.open(buffer) as container:
        decoded = list(container.decode(video=0))
    colour = colour_of(decoded[0])
    return [frame_to_picture(frame, TRAINING_FORMAT, colour, index)
            for index, frame in enumerate(decoded)]


def synthetic_sequence(pictures: PictureSet, recipe: Recipe,
                       rng: np.random.Generator) -> list[Picture]:
    """One composed sequence as the training format's pictures, after noise and codec."""
    frames = compose_sequence(pictures, recipe, rng)
    return through_codec(frames, int(rng.integers(recipe.crf[0], recipe.crf[1] + 1)))
