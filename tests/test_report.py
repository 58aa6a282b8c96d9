"""`vidfuse eval --report`: a page with the table, per-frame plots and the worst frames,
opened in a real browser where one is installed."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from clips import moving_frames, write_clip
from test_cli import assert_one_line_error, run_cli

# How Chromium runs here: no sandbox (root), and none of its background network calls.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("report")
    clip = write_clip(root / "colour.mkv", moving_frames(17, 64, 96, step=(3, 1)))
    code, output = run_cli("eval", clip, "--frames", "17", "--keyframe-every", "8",
                           "--report", root / "report", "--worst", "2")
    assert code == 0, output
    assert f"report: {root / 'report' / 'index.html'}" in " ".join(output.split())
    return root / "report" / "index.html"


def test_the_page_holds_the_table_the_plots_and_the_worst_frames(page: Path) -> None:
    text = page.read_text()
    assert all(name in text for name in ("minterpolate", "nearest", "convlstm"))
    images = re.findall(r'<img src="([^"]+)"', text)
    assert "time-psnr.png" in images and "colour-psnr.png" in images
    assert len([i for i in images if "-worst-" in i]) == 4  # two per section
    assert all((page.parent / image).stat().st_size > 0 for image in images)
    assert "http" not in text  # nothing is loaded from elsewhere


@pytest.mark.skipif(shutil.which("chromium") is None,
                    reason="no chromium here (.ci/run installs Debian's)")
def test_the_page_renders_its_plots_and_pictures_in_a_browser(page: Path,
                                                              tmp_path: Path) -> None:
    shot = tmp_path / "shot.png"
    subprocess.run(["chromium", *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
                    f"--screenshot={shot}", "--window-size=1000,2400", page.as_uri()],
                   check=True, capture_output=True, timeout=120)
    image = cv2.cvtColor(cv2.imread(str(shot)), cv2.COLOR_BGR2RGB).astype(int)
    assert image.std() > 20  # not a blank page
    # matplotlib's first line colour (#1f77b4): the plots were decoded and drawn.
    plotted = np.abs(image - [31, 119, 180]).sum(axis=2) < 40
    assert plotted.sum() > 200
    # The worst-frame strips: label bars and error maps are black; a broken image is not.
    assert (image.sum(axis=2) < 30).sum() > 5000


def test_a_missing_matplotlib_names_the_extra(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import fails, as if not installed
    clip = write_clip(tmp_path / "colour.mkv", moving_frames(9, 48, 64))
    code, output = run_cli("eval", clip, "--frames", "9", "--keyframe-every", "4", "--report",
                           tmp_path / "report")
    assert code == 2
    assert_one_line_error(output, "pip install 'vidfuse[report]'")
