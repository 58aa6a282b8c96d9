"""Shipped weights travel inside the wheel and load as the engines use them."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from vidfuse.weights import DEFAULTS, hub
from vidfuse.weights.download import sha256
from vidfuse.weights.networks import NETWORKS, load_network

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("task", sorted(NETWORKS))
def test_shipped_weights_match_their_model_card(task: str) -> None:
    path = hub.resolve(None, task)
    card = json.loads(path.with_suffix(".json").read_text())
    assert card["sha256"] == sha256(path) and card["size_bytes"] == path.stat().st_size
    assert card["architecture"] == NETWORKS[task].__name__
    assert card["training_data"] and card["validation"]
    load_network(task)


def test_wheel_contains_weights_and_cards(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp_path), str(ROOT)], check=True, capture_output=True)
    wheel = next(tmp_path.glob("vidfuse-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for module in (ROOT / "vidfuse").rglob("*.py"):
        assert module.relative_to(ROOT).as_posix() in names, f"{module.name} missing from the wheel"
    for name in DEFAULTS.values():
        assert f"vidfuse/models/{name}.safetensors" in names
        assert f"vidfuse/models/{name}.json" in names
    assert "vidfuse/models/manifest.json" in names


def test_package_manifest_lists_every_shipped_file_with_its_checksum() -> None:
    shipped = {name: entry for name, entry in hub.known().items() if entry.shipped}
    assert set(DEFAULTS.values()) <= set(shipped)
    for entry in shipped.values():
        path = hub.installed_path(entry)
        assert path is not None and sha256(path) == entry.sha256
        assert path.stat().st_size == entry.size
    assert all(hub.verify()[name] for name in shipped)


def test_the_classical_path_never_imports_torch(lossless_clip: Path, tmp_path: Path) -> None:
    # torch costs a second and ~190 MB before any work: only the learned models need it.
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from vidfuse import UpscaleOptions, upscale\n"
        "from vidfuse.cli import app  # the CLI's help lists every engine\n"
        f"upscale(UpscaleOptions(Path({str(lossless_clip)!r}),\n"
        f"                       Path({str(tmp_path)!r}) / 'o.mp4'))\n"
        "print('torch' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_help_names_the_weights_each_learned_model_loads() -> None:
    from vidfuse import colourisers, engines

    assert f"'{DEFAULTS['interp']}'" in engines.available()["convlstm"]
    assert f"'{DEFAULTS['colour']}'" in colourisers.available()["ae"]
