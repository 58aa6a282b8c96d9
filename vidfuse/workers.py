"""Worker processes (`batch --jobs`, `upscale --jobs`, Ray tasks): the models loaded once per
process, and the machine's cores shared between the workers so they do not fight over
threads."""

from __future__ import annotations

import os

from vidfuse.api import Models, UpscaleOptions, build_models

_loaded: dict[tuple[object, ...], Models] = {}


def models_for(options: UpscaleOptions) -> Models:
    """The models ``options`` ask for, loaded on first use in this process and reused for
    every file or segment after it."""
    key = (options.engine, options.device, options.weights, options.fusion,
           options.colouriser, options.colour_weights)
    if key not in _loaded:
        _loaded[key] = build_models(options)
    return _loaded[key]


def share_cores(jobs: int) -> None:
    """Worker initialiser: each of ``jobs`` workers gets its share of the cores.

    torch reads its thread count from OMP_NUM_THREADS when (and only if) a learned model
    imports it, so classical engines never load it (a fresh spawned worker has not).
    """
    import cv2

    threads = max(1, (os.cpu_count() or 1) // jobs)
    os.environ["OMP_NUM_THREADS"] = str(threads)
    cv2.setNumThreads(threads)
