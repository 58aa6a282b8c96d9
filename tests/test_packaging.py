"""Shipped weights travel inside the wheel and load as the engines use them."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from vidfuse.weights import NETWORKS, load_network, sha256, shipped_path

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("task", sorted(NETWORKS))
def test_shipped_weights_match_their_model_card(task: str) -> None:
    path = shipped_path(NETWORKS[task][1])
    card = json.loads(path.with_suffix(".json").read_text())
    assert card["sha256"] == sha256(path) and card["size_bytes"] == path.stat().st_size
    assert card["architecture"] == NETWORKS[task][0].__name__
    assert card["training_data"] and card["validation"]
    load_network(task)


def test_wheel_contains_weights_and_cards(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp_path), str(ROOT)], check=True, capture_output=True)
    wheel = next(tmp_path.glob("vidfuse-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for module in (ROOT / "vidfuse").rglob("*.py"):
        assert module.relative_to(ROOT).as_posix() in names, f"{module.name} missing from the wheel"
    for _, name in NETWORKS.values():
        assert f"vidfuse/models/{name}.safetensors" in names
        assert f"vidfuse/models/{name}.json" in names
