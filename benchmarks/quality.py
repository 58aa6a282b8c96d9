"""Interpolation quality on real clips: drop every other frame, rebuild it, compare.

    python benchmarks/quality.py [--frames 60] [--clips bikes bigbuckbunny ...]

Prints PSNR (RGB) and SSIM of the rebuilt odd frames for each engine next to frame repetition
and FFmpeg's minterpolate (mci), all measured in this run on the same frames. Engines run as
`vidfuse upscale` runs them, with scene-cut detection at its default threshold.
"""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

import numpy as np
from baselines import minterpolate
from datasets import CLIPS, clip_path
from rich.console import Console
from rich.table import Table

from vidfuse.api import DEFAULT_SCENE_THRESHOLD
from vidfuse.engines import available, build_engine
from vidfuse.metrics import psnr, ssim
from vidfuse.picture import Picture
from vidfuse.scene import SceneCutDetector
from vidfuse.video.colour import picture_to_frame, to_rgb
from vidfuse.video.reader import VideoFileSource


def rgb_of(picture: Picture, source: VideoFileSource) -> np.ndarray:
    info = source.info
    return to_rgb(picture_to_frame(picture, info.working, info.colour), info.colour, 8)


def evaluate_clip(path: Path, frames: int, engines: list[str]) -> dict[str, tuple[float, float]]:
    with VideoFileSource(path) as source:
        pictures = list(itertools.islice(source.pictures(), frames | 1))
        info = source.info
        evens, odds = pictures[0::2], pictures[1::2]
        truth = [rgb_of(p, source) for p in odds]
        predictions: dict[str, list[Picture]] = {"repeat": evens[:-1]}
        # As in `vidfuse upscale`: across a detected scene cut the earlier frame is repeated.
        cuts = SceneCutDetector(DEFAULT_SCENE_THRESHOLD)
        cut_after = [cuts.is_cut(a, b) for a, b in itertools.pairwise(evens)]
        for name in engines:
            engine = build_engine(name, "cpu")
            predictions[name] = [a if cut else engine.interpolate(a, b, [0.5])[0]
                                 for (a, b), cut in zip(itertools.pairwise(evens), cut_after,
                                                        strict=True)]
        rebuilt = list(minterpolate(evens, info.working, info.colour,
                                    info.frame_rate / 2, info.frame_rate))
        predictions["minterpolate"] = rebuilt[1::2][: len(odds)]
        scores = {}
        for name, pics in predictions.items():
            pairs = [(t, rgb_of(p, source)) for t, p in zip(truth, pics, strict=False)]
            scores[name] = (float(np.mean([psnr(t, p) for t, p in pairs])),
                            float(np.mean([ssim(t, p) for t, p in pairs])))
        return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=60, help="frames read per clip")
    parser.add_argument("--clips", nargs="+", default=list(CLIPS), choices=list(CLIPS))
    parser.add_argument("--engines", nargs="+", default=list(available()))
    args = parser.parse_args()
    methods = ["repeat", *args.engines, "minterpolate"]
    table = Table(title=f"Rebuilt odd frames, first {args.frames} frames per clip: "
                        "PSNR dB (RGB) / SSIM")
    table.add_column("clip")
    for method in methods:
        table.add_column(method, justify="right")
    totals: dict[str, list[tuple[float, float]]] = {m: [] for m in methods}
    started = time.perf_counter()
    for clip in args.clips:
        scores = evaluate_clip(clip_path(clip), args.frames, args.engines)
        for method in methods:
            totals[method].append(scores[method])
        table.add_row(clip, *(f"{scores[m][0]:.2f} / {scores[m][1]:.4f}" for m in methods))
    means = {m: (np.mean([s[0] for s in v]), np.mean([s[1] for s in v]))
             for m, v in totals.items()}
    table.add_row("[bold]mean", *(f"{means[m][0]:.2f} / {means[m][1]:.4f}" for m in methods))
    console = Console(width=140)
    console.print(table)
    for method in args.engines:
        console.print(f"{method}: {means[method][0] - means['minterpolate'][0]:+.2f} dB vs "
                      f"minterpolate, {means[method][0] - means['repeat'][0]:+.2f} dB vs repeat")
    console.print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
