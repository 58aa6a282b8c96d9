"""Scores against ground truth: take a colour clip, hide what vidfuse would rebuild, compare.

- Time: keep every F-th frame, rebuild the others (engines, frame repetition, FFmpeg's
  minterpolate), PSNR (RGB) / SSIM against the frames that were dropped.
- Colour: keep the colour of every N-th frame, colour the rest from luma (colourisers), PSNR /
  SSIM of the non-key frames, and temporal stability: the mean frame-to-frame chroma change
  on static pixels, next to the ground truth's own.
- Fusion: both at once through the real pipeline stages (`colourise_stream`, then
  `convert_frame_rate`), scored on every frame that was not a colour keyframe.

Used by `vidfuse eval` and the scripts in benchmarks/. Holds ``frames`` pictures in memory:
an evaluation tool, not a streaming one.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

from vidfuse.baselines import minterpolate
from vidfuse.colourisers import build_colouriser
from vidfuse.engines import build_engine
from vidfuse.errors import UsageError
from vidfuse.framerate import StreamCounts, convert_frame_rate
from vidfuse.fusion import DEFAULT_ADAPT_STEPS, FusionCounts, colourise_stream
from vidfuse.keyframes import EveryNthKeyframe
from vidfuse.metrics import psnr, ssim
from vidfuse.picture import Picture
from vidfuse.scene import DEFAULT_SCENE_THRESHOLD, SceneCutDetector
from vidfuse.timeline import FactorSchedule
from vidfuse.video.colour import picture_to_rgb
from vidfuse.video.media import SourceInfo
from vidfuse.video.reader import VideoFileSource

# Frames by method ("truth" among them), as an evaluation rebuilt them.
Rebuilt = dict[str, list[Picture]]

_STATIC = 2.0 / 255  # luma change below this (per frame) marks a pixel as static

# A rebuilt frame is "hard" when the plain average of its two kept neighbours scores below
# this against it: a lot changes between them. The test favours no engine.
HARD_PSNR = 30.0

@dataclass(frozen=True)
class Score:
    psnr: float
    ssim: float
    stability: float | None = None  # mean |chroma change| on static pixels, 8-bit units
    seconds: float | None = None  # the method's own time (building and --adapt included)
    # RGB PSNR of each scored frame, in order (for plots and for finding the worst frames).
    frames: tuple[float, ...] = field(default=(), compare=False, repr=False)

    def as_dict(self) -> dict[str, float | None]:
        """The means (what tables and --json show); per-frame scores stay out."""
        return {k: v for k, v in asdict(self).items() if k != "frames"}


@dataclass
class Clip:
    """The first frames of a colour clip, decoded once."""

    info: SourceInfo
    pictures: list[Picture]

    @classmethod
    def load(cls, path: Path, frames: int) -> Clip:
        with VideoFileSource(path) as source:
            return cls(source.info, list(itertools.islice(source.pictures(), frames)))

    def rgb(self, picture: Picture) -> np.ndarray:
        info = self.info
        return picture_to_rgb(picture, info.working, info.colour)

    def score(self, truth: Sequence[Picture], made: Sequence[Picture],
              stability: float | None = None) -> Score:
        """Scores of ``made`` against the truth."""
        pairs = [(self.rgb(t), self.rgb(m)) for t, m in zip(truth, made, strict=True)]
        per_frame = tuple(psnr(t, m) for t, m in pairs)
        return Score(float(np.mean(per_frame)), float(np.mean([ssim(t, m) for t, m in pairs])),
                     stability, frames=per_frame)


def evaluate_time(clip: Clip, engines: Sequence[str], factor: int = 2, device: str = "cpu",
                  weights: Mapping[str, Path] | None = None,
                  rebuilt: Rebuilt | None = None) -> dict[str, Score]:
    """Every ``factor``-th frame kept, the rest rebuilt; scene cuts repeat as `upscale` does.

    A name in ``weights`` ("convlstm@untrained": the engine before "@") runs with those
    weights instead of the shipped ones. ``rebuilt``, where given, receives the truth and
    every engine's frames (for pictures of where they differ). Each score carries the
    method's own time.
    """
    kept = clip.pictures[::factor]
    count = (len(kept) - 1) * factor  # frames that have a later kept frame
    truth = [p for i, p in enumerate(clip.pictures[:count]) if i % factor]
    ts = [k / factor for k in range(1, factor)]
    cuts = SceneCutDetector(DEFAULT_SCENE_THRESHOLD)
    cut_after = [cuts.is_cut(a, b) for a, b in itertools.pairwise(kept)]
    made: dict[str, list[Picture]] = {
        "repeat": [a for a in kept[:-1] for _ in ts]}
    seconds: dict[str, float] = {}
    for name in engines:
        started = time.perf_counter()
        engine = build_engine(name.split("@")[0], device, (weights or {}).get(name))
        made[name] = []
        for i, ((a, b), cut) in enumerate(zip(itertools.pairwise(kept), cut_after,
                                              strict=True)):
            if cut:
                engine.reset()
                made[name] += [a] * len(ts)
                continue
            after = kept[i + 2] if i + 2 < len(kept) and not cut_after[i + 1] else None
            made[name] += engine.interpolate(a, b, ts, after)
        seconds[name] = time.perf_counter() - started
    info = clip.info
    rate = info.frame_rate / factor
    started = time.perf_counter()
    # The filter stops short of the last input frame: a repeated one makes it finish the gap.
    filtered = list(minterpolate([*kept, kept[-1]], info.working, info.colour, rate,
                                 info.frame_rate))
    made["minterpolate"] = [p for i, p in enumerate(filtered[:count]) if i % factor]
    seconds["minterpolate"] = time.perf_counter() - started
    if rebuilt is not None:
        rebuilt.update({"truth": truth, **made})
    return {name: replace(clip.score(truth, pictures), seconds=seconds.get(name))
            for name, pictures in made.items()}


def hard_frames(clip: Clip, factor: int) -> list[bool]:
    """For each frame `evaluate_time` rebuilds (in its order), whether it is hard: the plain
    average of its two kept neighbours scores under `HARD_PSNR` against it."""
    rgb = [clip.rgb(p) for p in clip.pictures[:(len(clip.pictures) - 1) // factor * factor + 1]]
    hard = []
    for index in range(len(rgb) - 1):
        if index % factor:
            start = index - index % factor
            average = (rgb[start].astype(np.float32) + rgb[start + factor]) / 2
            hard.append(psnr(rgb[index], average) < HARD_PSNR)
    return hard


def evaluate_colour(clip: Clip, colourisers: Sequence[str], every: int,
                    device: str = "cpu", adapt_steps: int = DEFAULT_ADAPT_STEPS,
                    weights: Mapping[str, Path] | None = None,
                    rebuilt: Rebuilt | None = None) -> dict[str, Score]:
    """Colour of every ``every``-th frame kept; "truth" scores the clip's own stability.

    A name ending in "+adapt" (e.g. "ae+adapt") is that colouriser fine-tuned for
    ``adapt_steps`` on the clip's keyframes first, as `--adapt` does. A name in ``weights``
    ("ae@untrained": the colouriser before "@") runs with those weights instead of the
    shipped ones.
    """
    pictures = clip.pictures
    truth = [p for i, p in enumerate(pictures) if i % every]
    if rebuilt is not None:
        rebuilt["truth"] = truth
    scores = {"truth": Score(float("inf"), 1.0, chroma_stability(pictures, pictures))}
    for name in colourisers:
        started = time.perf_counter()
        colouriser = build_colouriser(name.removesuffix("+adapt").split("@")[0], device,
                                      (weights or {}).get(name))
        if name.endswith("+adapt"):
            from vidfuse.adapt import adapt, collect_keyframes

            cuts = SceneCutDetector(DEFAULT_SCENE_THRESHOLD)
            adapt(colouriser, collect_keyframes(pictures, EveryNthKeyframe(every), cuts),
                  adapt_steps)
        made = list(colourise_stream(pictures, EveryNthKeyframe(every), colouriser,
                                     SceneCutDetector(DEFAULT_SCENE_THRESHOLD), FusionCounts()))
        seconds = time.perf_counter() - started
        between = [p for i, p in enumerate(made) if i % every]
        if rebuilt is not None:
            rebuilt[name] = between
        scored = clip.score(truth, between, chroma_stability(made, pictures))
        scores[name] = replace(scored, seconds=seconds)
    return scores


def evaluate_fusion(clip: Clip, colouriser: str, engine: str, every: int, factor: int,
                    device: str = "cpu") -> Score:
    """The whole pipeline on every ``factor``-th frame, colour kept every ``every``-th of
    those; scored on all rebuilt frames (colourised, interpolated or both)."""
    kept = clip.pictures[::factor]
    cuts = SceneCutDetector(DEFAULT_SCENE_THRESHOLD)
    coloured = colourise_stream(kept, EveryNthKeyframe(every), build_colouriser(colouriser,
                                                                                device),
                                cuts, FusionCounts())
    info = clip.info
    schedule = FactorSchedule(factor, info.frame_rate / factor, info.time_base * factor)
    made = list(convert_frame_rate(coloured, build_engine(engine, device), schedule, cuts,
                                   StreamCounts()))
    count = (len(kept) - 1) * factor + 1
    keys = {i * factor for i in range(0, len(kept), every)}
    rebuilt = [i for i in range(count) if i not in keys]
    return clip.score([clip.pictures[i] for i in rebuilt], [made[i] for i in rebuilt],
                      chroma_stability(made[:count], clip.pictures[:count]))


def chroma_stability(made: Sequence[Picture], truth: Sequence[Picture]) -> float:
    """Mean absolute frame-to-frame chroma change (8-bit units) where the truth is static.

    Flicker shows here: colour that changes while the scene does not.
    """
    total, pixels = 0.0, 0
    for (m0, m1), (t0, t1) in zip(itertools.pairwise(made), itertools.pairwise(truth),
                                  strict=True):
        luma_change = np.abs(t1.planes_float()[0] - t0.planes_float()[0])
        if luma_change.shape != m0.u.shape:  # subsampled chroma: judge each chroma sample
            luma_change = cv2.resize(luma_change, m0.u.shape[::-1], interpolation=cv2.INTER_AREA)
        static = luma_change < _STATIC
        scale = 255.0 / m0.max_value
        for a, b in ((m0.u, m1.u), (m0.v, m1.v)):
            change = np.abs(b.astype(np.float32) - a.astype(np.float32)) * scale
            total += float(change[static].sum())
            pixels += int(static.sum())
    return total / max(pixels, 1)


@dataclass(frozen=True)
class EvalReport:
    """What `vidfuse eval` measures on one clip: every method of each kind, and the whole
    pipeline, in one run."""

    clip: str
    frames: int
    keyframe_every: int
    factor: int
    colouriser: str  # the fusion row's (resolved from "auto")
    engine: str
    colour: dict[str, Score]  # "truth" holds the clip's own stability
    time: dict[str, Score]
    fusion: Score
    clip_info: SourceInfo | None = field(default=None, compare=False, repr=False)
    # With keep_frames: every method's rebuilt frames, by section ("colour", "time").
    rebuilt: dict[str, Rebuilt] = field(default_factory=dict, compare=False, repr=False)

    def as_dict(self) -> dict[str, object]:
        """JSON-ready means: infinities (the truth's PSNR) become None."""
        def plain(score: Score) -> dict[str, float | None]:
            return {k: None if v == float("inf") else v for k, v in score.as_dict().items()}

        return {"clip": self.clip, "frames": self.frames, "keyframe_every": self.keyframe_every,
                "factor": self.factor, "colouriser": self.colouriser, "engine": self.engine,
                "colour": {n: plain(s) for n, s in self.colour.items()},
                "time": {n: plain(s) for n, s in self.time.items()},
                "fusion": plain(self.fusion)}


def evaluate(path: Path, keyframe_every: int = 8, factor: int = 2, frames: int = 97,
             engine: str = "auto", colouriser: str = "auto", device: str = "cpu",
             keep_frames: bool = False) -> EvalReport:
    """Hide colour (all but every ``keyframe_every``-th frame's) and frames (all but every
    ``factor``-th) of the first ``frames`` of a colour clip, rebuild them with every method
    and the pipeline, and score each against the truth. ``keep_frames``: the report keeps
    every rebuilt frame too (for pictures of the worst ones: :mod:`vidfuse.report`)."""
    from vidfuse.colourisers import COLOURISERS
    from vidfuse.engines import AUTO_ENGINE, ENGINES

    if keyframe_every < 2 or factor < 2 or frames < 2 * factor:
        raise UsageError("--keyframe-every and --factor must be 2 or more, and --frames at "
                         "least twice --factor")
    clip = Clip.load(path, frames)
    chosen_colour = COLOURISERS.resolve(colouriser)
    colour_names = list(dict.fromkeys(["nearest", "flow", "ae", chosen_colour]))
    time_names = list(dict.fromkeys(["blend", "flow", AUTO_ENGINE, "convlstm",
                                     *([] if engine == "auto" else [engine])]))
    rebuilt: dict[str, Rebuilt] = {"colour": {}, "time": {}} if keep_frames else {}
    return EvalReport(
        clip=str(path), frames=len(clip.pictures), keyframe_every=keyframe_every,
        factor=factor, colouriser=chosen_colour, engine=ENGINES.resolve(engine),
        colour=evaluate_colour(clip, colour_names, keyframe_every, device,
                               rebuilt=rebuilt.get("colour")),
        time=evaluate_time(clip, time_names, factor, device, rebuilt=rebuilt.get("time")),
        fusion=evaluate_fusion(clip, colouriser, engine, keyframe_every, factor, device),
        clip_info=clip.info, rebuilt=rebuilt)
