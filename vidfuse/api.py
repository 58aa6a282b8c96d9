"""What a Python user imports: ``upscale(UpscaleOptions(...))``; the CLI only wraps this.

:func:`upscale` validates the options, builds the models and runs the pipeline
(:mod:`vidfuse.pipeline`); the option and result types live in :mod:`vidfuse.options`.
"""

from __future__ import annotations

import os
import threading
from fractions import Fraction
from pathlib import Path

from vidfuse.colourisers import Colouriser, build_colouriser
from vidfuse.engines import Interpolator, build_engine
from vidfuse.errors import UsageError
from vidfuse.options import (
    Observer,
    SilentObserver,
    UpscaleOptions,
    UpscaleResult,
    check_output,
)
from vidfuse.pipeline import run
from vidfuse.segmented import run_segmented, segment_length
from vidfuse.video.lock import output_lock
from vidfuse.video.pipes import is_pipe
from vidfuse.video.writer import CONTAINERS
from vidfuse.weights import resolve

__all__ = ["Models", "Observer", "SilentObserver", "UpscaleOptions", "UpscaleResult",
           "build_models", "default_output", "upscale"]


def upscale(options: UpscaleOptions, observer: Observer | None = None,
            models: Models | None = None, cancel: threading.Event | None = None
            ) -> UpscaleResult:
    """Raise the frame rate of ``options.input`` and write ``options.output`` atomically.

    ``models``: the engine and colouriser from :func:`build_models`, to reuse across calls
    (batch workers load them once); built from ``options`` when not given. A long video
    (or one asked to with ``segment``, ``jobs`` or ``cluster``) is made in segments that an
    interrupted run resumes from (:mod:`vidfuse.segmented`). ``cancel``: once
    set (from another thread or a signal handler), the run stops at the next frame with
    :class:`Cancelled`, and nothing is left at the output. Another live run writing the same
    output makes this one fail at once (:class:`vidfuse.video.lock.OutputBusy`).
    """
    options.validate()
    # One writer per output, from before any work until the output is in place; another
    # run's finished output that appeared meanwhile is not replaced unasked.
    with output_lock(options.output):
        check_output(options.output, [options.input], options.overwrite)
        seconds = segment_length(options)
        engine, colouriser = models or build_models(options)
        observer = observer or SilentObserver()
        if seconds is not None:
            return run_segmented(options, seconds, (engine, colouriser), observer, cancel)
        return run(options, engine, colouriser, observer, cancel)


def default_output(input: str | os.PathLike[str], factor: int = 2,
                   fps: Fraction | None = None, slowmo: bool = False) -> Path:
    """Where `vidfuse upscale` writes when not told: beside the input, named for the new rate
    (clip.mp4 -> clip_x2.mp4, clip_60fps.mp4 with ``fps``, clip_slow2.mp4 with ``slowmo``).
    An image folder gives a folder of PNGs; a container vidfuse does not write (.avi, ...)
    gives .mkv."""
    input = Path(input)
    if is_pipe(input):
        raise UsageError("with input from a pipe, name the output: --out FILE, or --out - "
                         "for standard output")
    tag = (f"{round(float(fps), 2):g}fps" if fps else
           f"slow{factor}" if slowmo else f"x{factor}")
    if input.is_dir():
        return input.with_name(f"{input.name}_{tag}")
    suffix = input.suffix if input.suffix.lower() in CONTAINERS else ".mkv"
    return input.with_name(f"{input.stem}_{tag}{suffix}")



Models = tuple[Interpolator, "Colouriser | None"]


def build_models(options: UpscaleOptions) -> Models:
    """The engine and (in fusion mode) the colouriser that ``options`` ask for."""
    device = options.device  # resolved by the registry, and only where it matters
    engine = build_engine(options.engine, device,
                          resolve(options.weights, "interp") if options.weights else None)
    if not options.fusion:
        if options.colour_weights:
            raise UsageError("--colour-weights is for fusion mode (--reference, --keyframes or "
                             "--keyframe-every)")
        return engine, None
    return engine, build_colouriser(options.colouriser, device,
                                    resolve(options.colour_weights, "colour")
                                    if options.colour_weights else None)

