"""Named factories, one registry per kind of thing (interpolation engines, colourisers)."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from vidfuse.device import resolve_device
from vidfuse.errors import UsageError

T = TypeVar("T")


@dataclass(frozen=True)
class Builtin:
    """A factory that ships with vidfuse, named by where it lives so that listing it imports
    nothing: the learned ones pull in torch (about a second and 190 MB), which the classical
    path never needs."""

    target: str  # "module:attribute"
    summary: str
    learned: bool = False  # runs on the resolved device (the classical ones stay on the CPU)


class Registry(Generic[T]):
    """Maps a name to a factory taking a device string, with a one-line summary for help."""

    def __init__(self, kind: str, builtins: dict[str, Builtin], auto: str) -> None:
        self._kind = kind
        self._builtins = builtins
        self.auto = auto  # what the name "auto" stands for: the best one measured
        self._factories: dict[str, tuple[Callable[[str], T], str, bool]] = {}

    def register(self, name: str, summary: str, learned: bool = True
                 ) -> Callable[[Callable[[str], T]], Callable[[str], T]]:
        """Class decorator adding a factory under ``name`` (plug-ins, benchmarks); one that is
        not ``learned`` is built with "cpu" for the device "auto", as the classical
        built-ins are."""

        def add(factory: Callable[[str], T]) -> Callable[[str], T]:
            self._factories[name] = (factory, summary, learned)
            return factory

        return add

    def available(self) -> dict[str, str]:
        """Names and one-line summaries."""
        return {**{name: entry.summary for name, entry in self._builtins.items()},
                **{name: summary for name, (_, summary, _) in self._factories.items()}}

    def resolve(self, name: str) -> str:
        """``name``, with "auto" replaced by the one it stands for."""
        return self.auto if name == "auto" else name

    def build(self, name: str, device: str, weights: Path | None = None) -> T:
        """The thing called ``name`` ("auto" included) on ``device`` (a --device spec);
        ``weights`` replaces a learned one's shipped weights (an error for the classical
        ones, which have none).

        A classical one never resolves "auto" (that would import torch to look for a GPU);
        an explicit GPU is still checked, so a missing one is an error either way.
        """
        name = self.resolve(name)
        factory, learned = self._factory(name)
        device = "cpu" if not learned and device.strip().lower() == "auto" else \
            resolve_device(device)
        if weights is None:
            return factory(device)
        if "weights" not in inspect.signature(factory).parameters:
            raise UsageError(f"the {self._kind} '{name}' has no weights to replace (pick a "
                             f"learned {self._kind})")
        return factory(device, weights=weights)

    def _factory(self, name: str) -> tuple[Callable[..., T], bool]:
        """The factory called ``name`` (importing a built-in's module now) and whether it
        is learned."""
        if name in self._factories:
            factory, _, learned = self._factories[name]
            return factory, learned
        if name not in self._builtins:
            raise UsageError(f"unknown {self._kind} '{name}' "
                             f"(available: {', '.join(self.available())})")
        builtin = self._builtins[name]
        module, attribute = builtin.target.split(":")
        return getattr(importlib.import_module(module), attribute), builtin.learned
