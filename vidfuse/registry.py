"""Named factories, one registry per kind of thing (interpolation engines, colourisers)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

from vidfuse.errors import UsageError

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps a name to a factory taking a device string, with a one-line summary for help."""

    def __init__(self, kind: str, load: Callable[[], None], auto: str) -> None:
        self._kind = kind
        self._load = load  # imports the built-in modules, which register themselves
        self.auto = auto  # what the name "auto" stands for: the best one measured
        self._factories: dict[str, tuple[Callable[[str], T], str]] = {}

    def register(self, name: str, summary: str) -> Callable[[Callable[[str], T]],
                                                             Callable[[str], T]]:
        """Class decorator adding a factory under ``name``."""

        def add(factory: Callable[[str], T]) -> Callable[[str], T]:
            self._factories[name] = (factory, summary)
            return factory

        return add

    def available(self) -> dict[str, str]:
        """Names and one-line summaries."""
        self._load()
        return {name: summary for name, (_, summary) in self._factories.items()}

    def resolve(self, name: str) -> str:
        """``name``, with "auto" replaced by the one it stands for."""
        return self.auto if name == "auto" else name

    def build(self, name: str, device: str, weights: Path | None = None) -> T:
        """The thing called ``name`` ("auto" included) on ``device``; ``weights`` replaces a
        learned one's shipped weights (an error for the classical ones, which have none)."""
        self._load()
        name = self.resolve(name)
        if name not in self._factories:
            raise UsageError(f"unknown {self._kind} '{name}' "
                             f"(available: {', '.join(self._factories)})")
        factory = self._factories[name][0]
        if weights is None:
            return factory(device)
        if "weights" not in inspect.signature(factory).parameters:
            raise UsageError(f"the {self._kind} '{name}' has no weights to replace (pick a "
                             f"learned {self._kind})")
        return factory(device, weights=weights)  # type: ignore[call-arg]
