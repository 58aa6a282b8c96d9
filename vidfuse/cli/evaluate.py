"""`vidfuse eval`: scores against ground truth on a colour clip, next to the baselines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from vidfuse import colourisers, engines
from vidfuse.cli._app import guarded, out
from vidfuse.errors import UsageError


def eval_command(
    clip: Annotated[Path, typer.Argument(help="A colour video to score against.",
                                         show_default=False)],
    keyframe_every: Annotated[int, typer.Option(
        help="Keep the colour of every N-th frame; rebuild the rest.")] = 8,
    factor: Annotated[int, typer.Option(
        help="Keep every F-th frame; rebuild the rest by interpolation.")] = 2,
    frames: Annotated[int, typer.Option(
        help="Frames read from the start of the clip (all are held in memory).")] = 97,
    engine: Annotated[str, typer.Option(
        help=f"Engine for the fusion row: auto (= {engines.AUTO_ENGINE}), "
             + ", ".join(engines.available()) + ".")] = "auto",
    colouriser: Annotated[str, typer.Option(
        help=f"Colouriser for the fusion row: auto (= {colourisers.AUTO_COLOURISER}), "
             + ", ".join(colourisers.available()) + ".")] = "auto",
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N.")] = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
        = False,
) -> None:
    """Score colour and interpolation against ground truth on a colour clip.

    Simulates the sparse-colour input (colour every N-th frame) and the low frame rate (every
    F-th frame), rebuilds what was hidden, and prints PSNR (RGB, dB) and SSIM next to the
    baselines, all measured in this run: nearest-keyframe and DIS-warped chroma for colour;
    frame repetition, blend, flow and FFmpeg minterpolate for time. "Stability" is the mean
    frame-to-frame chroma change on static pixels (lower is steadier; compare with the
    truth's own). Validate on clips the models never trained on (docs/data.md).
    """
    from vidfuse.device import resolve_device
    from vidfuse.evaluate import Clip, evaluate_colour, evaluate_fusion, evaluate_time

    def run() -> dict[str, object]:
        if keyframe_every < 2 or factor < 2 or frames < 2 * factor:
            raise UsageError("--keyframe-every and --factor must be 2 or more, and --frames at "
                             "least twice --factor")
        where = resolve_device(device)
        loaded = Clip.load(clip, frames)
        chosen_colour = colourisers.COLOURISERS.resolve(colouriser)
        colour_names = list(dict.fromkeys(["nearest", "flow", "ae", chosen_colour]))
        time_names = list(dict.fromkeys(["blend", "flow", engines.AUTO_ENGINE, "convlstm",
                                         *([] if engine == "auto" else [engine])]))
        return {
            "clip": str(clip), "frames": len(loaded.pictures), "colouriser": chosen_colour,
            "engine": engines.ENGINES.resolve(engine),
            "colour": evaluate_colour(loaded, colour_names, keyframe_every, where),
            "time": evaluate_time(loaded, time_names, factor, where),
            "fusion": evaluate_fusion(loaded, colouriser, engine, keyframe_every, factor,
                                      where),
        }

    report = guarded(run)
    if as_json:
        def plain(value: object) -> object:
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            if hasattr(value, "as_dict"):
                return plain(value.as_dict())
            return None if value == float("inf") else value  # JSON has no infinity

        out.print_json(json.dumps(plain(report)))
        return
    title = f"{clip.name}, first {report['frames']} frames"
    for section, heading in (("colour", f"colour kept on 1 frame in {keyframe_every}"),
                             ("time", f"x{factor} frame rate from 1 frame in {factor}")):
        table = Table(title=f"{title}: {heading}")
        for column in ("method", "PSNR dB", "SSIM", "stability"):
            table.add_column(column, justify="left" if column == "method" else "right")
        for name, score in report[section].items():  # type: ignore[attr-defined]
            table.add_row(name, "-" if name == "truth" else f"{score.psnr:.2f}",
                          "-" if name == "truth" else f"{score.ssim:.4f}",
                          "" if score.stability is None else f"{score.stability:.3f}")
        out.print(table)
    fused = report["fusion"]
    out.print(f"fusion ({report['colouriser']} colour + {report['engine']} engine, x{factor}, "
              f"colour on 1 frame in {keyframe_every}): {fused.psnr:.2f} dB, "  # type: ignore[attr-defined]
              f"SSIM {fused.ssim:.4f}, stability {fused.stability:.3f}")  # type: ignore[attr-defined]

