"""Colour from sparse keyframes: keep the colour of every N-th frame, rebuild the rest.

    python benchmarks/colour_quality.py [--every 8 32] [--frames 97] [--clips ...]

Runs the fusion stage as `vidfuse upscale --keyframe-every N` does (scene cuts included):
each non-key frame keeps its own luma and gets chroma from the keyframes around it. Prints
RGB PSNR against the original frame per colouriser, and temporal stability (mean frame-to-
frame chroma change on static pixels, 8-bit units) next to the ground truth's own; all in
the same run, and each colouriser's time as a multiple of the classical `flow`'s (building,
--adapt and colouring; decoding and scoring excluded). Means over validation clips.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from datasets import clip_label, clip_path
from rich.console import Console
from rich.table import Table
from safetensors.torch import save_file

from vidfuse.colourisers import available
from vidfuse.evaluate import Clip, Score, evaluate_colour
from vidfuse.fusion import DEFAULT_ADAPT_STEPS
from vidfuse.nets.colouriser import KeyframeColourNet
from vidfuse.report import report_clip
from vidfuse.train.sources import CLIPS, VALIDATION_CLIPS

UNTRAINED = "ae@untrained"
CANDIDATE = "ae@candidate"
CLASSICAL = "flow"  # the colouriser every other one is timed against


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--every", nargs="+", type=int, default=[8, 32])
    parser.add_argument("--frames", type=int, default=97, help="frames read per clip")
    parser.add_argument("--clips", nargs="+", default=list(VALIDATION_CLIPS),
                        choices=list(CLIPS))
    parser.add_argument("--colourisers", nargs="+",
                        default=[*available(), "ae+adapt", UNTRAINED],
                        help=f"names; 'ae+adapt' is ae after --adapt on the clip's keyframes, "
                             f"'{UNTRAINED}' its network with zeroed output (the classical "
                             "confidence blend of its four aligned candidates)")
    parser.add_argument("--weights", type=Path,
                        help=f"also score the learned colouriser with these weights, as "
                             f"'{CANDIDATE}' (exported by `vidfuse train export`)")
    parser.add_argument("--adapt", type=int, default=DEFAULT_ADAPT_STEPS,
                        help="steps for 'ae+adapt'")
    parser.add_argument("--report", type=Path, metavar="DIR",
                        help="also write each clip's HTML report (vidfuse eval --report, "
                             "keyframes every --every's first value) into DIR/CLIP")
    parser.add_argument("--card", type=Path,
                        help="model card (JSON) to record the learned colouriser's scores in")
    args = parser.parse_args()
    if args.weights:
        args.colourisers.append(CANDIDATE)
    recorded: dict[str, object] = {}
    console = Console(width=160)
    started = time.perf_counter()
    clips = {name: Clip.load(clip_path(name), args.frames) for name in args.clips}
    for name in args.clips if args.report else ():
        page = report_clip(clip_path(name), args.report / name, args.frames, args.every[0])
        console.print(f"report: {page}")
    scratch = tempfile.TemporaryDirectory()  # removed when the script ends
    untrained = Path(scratch.name) / "untrained.safetensors"
    save_file(KeyframeColourNet().state_dict(), str(untrained))
    for every in args.every:
        table = Table(title=f"Keyframe every {every} frames, first {args.frames} frames: "
                            "RGB PSNR (dB) of the frames in between / stability")
        table.add_column("clip")
        for name in args.colourisers:
            table.add_column(name, justify="right")
        table.add_column("truth stability", justify="right")
        timed = [n for n in args.colourisers if n != CLASSICAL]
        results: dict[str, dict[str, Score]] = {
            clip: evaluate_colour(loaded, args.colourisers, every, adapt_steps=args.adapt,
                                  weights={UNTRAINED: untrained,
                                           **({CANDIDATE: args.weights} if args.weights
                                              else {})})
            for clip, loaded in clips.items()}
        for clip, scores in results.items():
            table.add_row(clip_label(clip), *(f"{scores[n].psnr:.2f} / {scores[n].stability:.3f}"
                                   for n in args.colourisers),
                          f"{scores['truth'].stability:.3f}")
            if CLASSICAL in scores:
                table.add_row(f"  time / {CLASSICAL}'s time",
                              *(f"{_time_ratio(scores, n):.2f}x" if n in timed else ""
                                for n in args.colourisers), "")
        validation = [c for c in args.clips if c in VALIDATION_CLIPS]
        means = {n: (float(np.mean([results[c][n].psnr for c in validation])),
                     float(np.mean([results[c][n].stability or 0.0 for c in validation])))
                 for n in [*args.colourisers, "truth"]}
        table.add_row("[bold]validation mean",
                      *(f"{means[n][0]:.2f} / {means[n][1]:.3f}" for n in args.colourisers),
                      f"{means['truth'][1]:.3f}")
        console.print(table)
        recorded[f"keyframe_every_{every}"] = {
            "clips": {c: {n: s.as_dict() for n, s in r.items() if n != "truth"}
                      for c, r in results.items()},
            "validation_mean_psnr": {n: m[0] for n, m in means.items() if n != "truth"},
            "validation_mean_stability": {n: m[1] for n, m in means.items()},
        }
    console.print(f"({time.perf_counter() - started:.0f} s)")
    if args.card:
        card = json.loads(args.card.read_text())
        card["validation"] = {
            "command": f"python benchmarks/colour_quality.py --frames {args.frames} "
                       f"--adapt {args.adapt} --card {args.card}",
            "metric": "RGB PSNR dB of the non-key frames; stability = mean chroma change "
                      "on static pixels (8-bit units)",
            **recorded,
        }
        args.card.write_text(json.dumps(card, indent=2) + "\n")


def _time_ratio(scores: dict[str, Score], name: str) -> float:
    return (scores[name].seconds or 0.0) / (scores[CLASSICAL].seconds or float("nan"))


if __name__ == "__main__":
    main()
