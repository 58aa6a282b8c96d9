"""Interpolation quality on real clips: drop every other frame, rebuild it, compare.

    python benchmarks/quality.py [--frames 60] [--clips bikes bigbuckbunny ...]

Prints PSNR (RGB) and SSIM of the rebuilt odd frames for each engine next to frame repetition
and FFmpeg's minterpolate (mci), all measured in this run on the same frames. Engines run as
`vidfuse upscale` runs them, with scene-cut detection at its default threshold.
"""

from __future__ import annotations

import argparse
import itertools
import json
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
from vidfuse.train.sources import VALIDATION_CLIPS
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
    parser.add_argument("--json", type=Path, help="also write the scores here")
    parser.add_argument("--card", type=Path,
                        help="model card (JSON) to record the learned engine's scores in")
    parser.add_argument("--card-engine", default="convlstm")
    args = parser.parse_args()
    methods = ["repeat", *args.engines, "minterpolate"]
    table = Table(title=f"Rebuilt odd frames, first {args.frames} frames per clip: "
                        "PSNR dB (RGB) / SSIM. Means over validation clips (never trained on)")
    table.add_column("clip")
    for method in methods:
        table.add_column(method, justify="right")
    results: dict[str, dict[str, tuple[float, float]]] = {}
    started = time.perf_counter()
    for clip in args.clips:
        results[clip] = evaluate_clip(clip_path(clip), args.frames, args.engines)
        label = clip if clip in VALIDATION_CLIPS else f"{clip} (learned engines trained on it)"
        table.add_row(label, *(f"{results[clip][m][0]:.2f} / {results[clip][m][1]:.4f}"
                               for m in methods))
    validation = [c for c in args.clips if c in VALIDATION_CLIPS]
    means = {m: (float(np.mean([results[c][m][0] for c in validation])),
                 float(np.mean([results[c][m][1] for c in validation]))) for m in methods}
    table.add_row("[bold]validation mean", *(f"{means[m][0]:.2f} / {means[m][1]:.4f}"
                                             for m in methods))
    console = Console(width=160)
    console.print(table)
    for method in args.engines:
        console.print(
            f"{method}: {means[method][0] - means['minterpolate'][0]:+.2f} dB / "
            f"{means[method][1] - means['minterpolate'][1]:+.4f} SSIM vs minterpolate, "
            f"{means[method][0] - means['flow'][0]:+.2f} dB / "
            f"{means[method][1] - means['flow'][1]:+.4f} SSIM vs flow"
            if "flow" in means else "")
    console.print(f"({time.perf_counter() - started:.0f} s)")
    if args.json:
        args.json.write_text(json.dumps({"frames": args.frames, "clips": results,
                                         "validation_mean": means}, indent=2))
    if args.card:
        record_in_card(args.card, args.card_engine, args.frames, results, means)


def record_in_card(card_path: Path, engine: str, frames: int,
                   results: dict[str, dict[str, tuple[float, float]]],
                   means: dict[str, tuple[float, float]]) -> None:
    """Write the engine's validation scores (and the baselines') into its model card."""
    card = json.loads(card_path.read_text())
    card["validation"] = {
        "command": f"python benchmarks/quality.py --frames {frames} --card {card_path}",
        "metric": "PSNR dB (RGB) / SSIM of rebuilt odd frames",
        "clips": {c: {m: list(v) for m, v in r.items()} for c, r in results.items()
                  if c in VALIDATION_CLIPS},
        "validation_mean": {m: list(v) for m, v in means.items()},
        "engine": engine,
    }
    card_path.write_text(json.dumps(card, indent=2) + "\n")


if __name__ == "__main__":
    main()
