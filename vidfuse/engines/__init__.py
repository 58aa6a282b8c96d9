"""Interpolation engines behind one small protocol, looked up by name in one registry.

An engine sees consecutive pairs of pictures in order and returns the pictures between them;
it never touches files, so a new engine (the learned one included) plugs in here and nowhere
else.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

from vidfuse.picture import Picture
from vidfuse.registry import Builtin, Registry


class Interpolator(Protocol):
    """Builds in-between frames; may keep state along the sequence until :meth:`reset`."""

    name: str
    device: str

    def interpolate(self, a: Picture, b: Picture, ts: Sequence[float],
                    after: Picture | None = None) -> Iterator[Picture]:
        """Pictures at fractions ``ts`` (each in (0, 1)) of the way from ``a`` to ``b``.

        Called for consecutive pairs in order; ``after`` is the frame that follows ``b`` in
        the same shot, when there is one (what an engine that models acceleration looks
        ahead to). The motion is measured (and any state moved on) by the call itself; the
        pictures are made one at a time as they are taken, so a long gap (a pause in a
        variable-rate recording, at a high --fps) never holds its frames together. Their
        ``time`` is set by the caller.
        """
        ...

    def reset(self) -> None:
        """Forget any state carried from earlier frames (after a scene cut)."""
        ...


# What `--engine auto` (the default) runs: speed first. `hybrid` scores higher on every
# validation clip (benchmarks/quality.py) but at 7-20x flow's time (benchmarks/speed.py).
AUTO_ENGINE = "flow"

ENGINES: Registry[Interpolator] = Registry("engine", {
    "blend": Builtin("vidfuse.engines.blend:BlendInterpolator",
                     "linear cross-fade of the two neighbours (fast, ghosts on motion)"),
    "convlstm": Builtin("vidfuse.engines.convlstm:RecurrentInterpolator",
                        "learned: DIS flow refined by a trained ConvLSTM U-Net (weights "
                        "'interp-convlstm')", learned=True),
    "flow": Builtin("vidfuse.engines.flow:FlowInterpolator",
                    "OpenCV DIS optical flow, bidirectional warping along quadratic motion"),
    "hybrid": Builtin("vidfuse.engines.hybrid:HybridInterpolator",
                      "learned: flow and RIFE 4.0 both, a trained network choosing per pixel "
                      "(fast motion; RIFE's weights downloaded once)", learned=True),
    "rife": Builtin("vidfuse.engines.rife:RifeInterpolator",
                    "learned: RIFE 4.0's flows and mask (weights downloaded once: vidfuse "
                    "weights download rife-4.0)", learned=True),
}, AUTO_ENGINE)
register = ENGINES.register
available = ENGINES.available
build_engine = ENGINES.build
