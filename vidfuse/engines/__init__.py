"""Interpolation engines behind one small protocol, looked up by name in one registry.

An engine sees consecutive pairs of pictures in order and returns the pictures between them;
it never touches files, so a new engine (the learned one included) plugs in here and nowhere
else.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from vidfuse.errors import UsageError
from vidfuse.picture import Picture


class Interpolator(Protocol):
    """Builds in-between frames; may keep state along the sequence until :meth:`reset`."""

    name: str
    device: str

    def interpolate(self, a: Picture, b: Picture, ts: Sequence[float]) -> list[Picture]:
        """Pictures at fractions ``ts`` (each in (0, 1)) of the way from ``a`` to ``b``.

        Called for consecutive pairs in order; the returned pictures' ``time`` is set by the
        caller.
        """
        ...

    def reset(self) -> None:
        """Forget any state carried from earlier frames (after a scene cut)."""
        ...


EngineFactory = Callable[[str], Interpolator]

# What `--engine auto` (the default) runs. The learned engine takes over only once
# benchmarks/quality.py and benchmarks/speed.py show it beating the classical ones.
AUTO_ENGINE = "flow"
_REGISTRY: dict[str, tuple[EngineFactory, str]] = {}


def register(name: str, summary: str) -> Callable[[EngineFactory], EngineFactory]:
    """Class decorator adding an engine factory (called with a device string) to the registry."""

    def add(factory: EngineFactory) -> EngineFactory:
        _REGISTRY[name] = (factory, summary)
        return factory

    return add


def available() -> dict[str, str]:
    """Engine names and one-line summaries, for --help and errors."""
    _load_builtin()
    return {name: summary for name, (_, summary) in _REGISTRY.items()}


def build_engine(name: str, device: str) -> Interpolator:
    """The engine called ``name`` ('auto' picks the best measured one) on ``device``."""
    _load_builtin()
    if name == "auto":
        name = AUTO_ENGINE
    if name not in _REGISTRY:
        raise UsageError(f"unknown engine '{name}' (available: auto, {', '.join(_REGISTRY)})")
    return _REGISTRY[name][0](device)


def _load_builtin() -> None:
    # Imported here (not at module top) so the registry module has no import cycle with them.
    from vidfuse.engines import blend, convlstm, flow  # noqa: F401
