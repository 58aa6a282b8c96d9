"""`vidfuse eval`: scores against ground truth on a colour clip, next to the baselines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from vidfuse import colourisers, engines
from vidfuse.cli._app import err, flag, guarded, out


def eval_command(
    clip: Annotated[Path, typer.Argument(metavar="CLIP", help="A colour video to score against.",
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
    as_json: Annotated[bool, flag("--json", help="Print JSON instead of tables.")]
        = False,
    report: Annotated[Path | None, typer.Option(
        metavar="DIR", help="Also write an HTML page there (index.html, with its images): "
                            "the table, every method's PSNR frame by frame, and the worst "
                            "frames side by side. Needs pip install 'vidfuse\\[report]'.",
        show_default=False)] = None,
    worst: Annotated[int, typer.Option(help="How many worst frames the report shows.")] = 6,
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
    from vidfuse.evaluate import evaluate

    result = guarded(lambda: evaluate(clip, keyframe_every, factor, frames, engine, colouriser,
                                      resolve_device(device), keep_frames=report is not None))
    if report is not None:
        from vidfuse.report import write_report

        page = guarded(lambda: write_report(result, report, worst))
        err.print(f"report: {page}", soft_wrap=True)
    if as_json:
        out.print_json(json.dumps(result.as_dict()))
        return
    title = f"{clip.name}, first {result.frames} frames"
    for scores, heading in ((result.colour, f"colour kept on 1 frame in {keyframe_every}"),
                            (result.time, f"x{factor} frame rate from 1 frame in {factor}")):
        table = Table(title=f"{title}: {heading}")
        for column in ("method", "PSNR dB", "SSIM", "stability"):
            table.add_column(column, justify="left" if column == "method" else "right")
        for name, score in scores.items():
            table.add_row(name, "-" if name == "truth" else f"{score.psnr:.2f}",
                          "-" if name == "truth" else f"{score.ssim:.4f}",
                          "" if score.stability is None else f"{score.stability:.3f}")
        out.print(table)
    fused = result.fusion
    out.print(f"fusion ({result.colouriser} colour + {result.engine} engine, x{factor}, "
              f"colour on 1 frame in {keyframe_every}): {fused.psnr:.2f} dB, "
              f"SSIM {fused.ssim:.4f}, stability {fused.stability or 0:.3f}")
