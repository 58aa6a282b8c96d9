"""Colourisers: give greyscale frames the colour of the nearest colour keyframes.

A colouriser sees the grey frames between two keyframes (either may be missing at the ends of
a shot) and returns them with chroma filled in; their luma passes through unchanged. Like
interpolation engines, colourisers never touch files and are looked up by name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from vidfuse.errors import UsageError
from vidfuse.picture import Picture


class Colouriser(Protocol):
    name: str
    device: str

    def colourise(self, grey: Sequence[Picture], before: Picture | None,
                  after: Picture | None) -> list[Picture]:
        """``grey`` (luma used, chroma ignored) coloured from keyframes ``before``/``after``,
        which lie at ``before.time`` <= each grey frame's time <= ``after.time``."""
        ...


ColouriserFactory = Callable[[str], Colouriser]
_REGISTRY: dict[str, tuple[ColouriserFactory, str]] = {}


def register(name: str, summary: str) -> Callable[[ColouriserFactory], ColouriserFactory]:
    def add(factory: ColouriserFactory) -> ColouriserFactory:
        _REGISTRY[name] = (factory, summary)
        return factory

    return add


def available() -> dict[str, str]:
    _load_builtin()
    return {name: summary for name, (_, summary) in _REGISTRY.items()}


def build_colouriser(name: str, device: str) -> Colouriser:
    _load_builtin()
    if name not in _REGISTRY:
        raise UsageError(f"unknown colouriser '{name}' (available: {', '.join(_REGISTRY)})")
    return _REGISTRY[name][0](device)


def _load_builtin() -> None:
    from vidfuse.colourisers import flow_warp, learned, nearest  # noqa: F401
