"""`vidfuse eval`: scores against ground truth, next to the baselines, as tables or JSON."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from clips import moving_frames, write_clip
from test_cli import assert_one_line_error, run_cli

from vidfuse.evaluate import chroma_stability
from vidfuse.picture import Picture


def test_eval_json_ranks_motion_methods_above_repetition(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "colour.mkv", moving_frames(17, 64, 96, step=(3, 1)))
    code, output = run_cli("eval", clip, "--frames", "17", "--keyframe-every", "8", "--json")
    assert code == 0, output
    report = json.loads(output)
    colour, time = report["colour"], report["time"]
    assert set(colour) == {"truth", "nearest", "flow", "ae"}
    assert {"repeat", "blend", "flow", "convlstm", "minterpolate"} <= set(time)
    assert colour["flow"]["psnr"] > colour["nearest"]["psnr"] + 3
    assert time["flow"]["psnr"] > time["repeat"]["psnr"] + 3
    assert colour["truth"]["psnr"] is None and colour["truth"]["stability"] >= 0
    assert report["fusion"]["psnr"] > time["repeat"]["psnr"]


def test_eval_tables_and_bad_options(lossless_clip: Path) -> None:
    code, output = run_cli("eval", lossless_clip, "--frames", "9", "--keyframe-every", "4")
    assert code == 0, output
    assert all(name in output for name in ("nearest", "minterpolate", "fusion (flow colour"))
    code, output = run_cli("eval", lossless_clip, "--factor", "1")
    assert code == 2
    assert_one_line_error(output, "--factor must be 2 or more")


def test_stability_sees_flicker_on_a_static_scene() -> None:
    y = np.full((8, 8), 120, np.uint8)
    steady = [Picture(y, np.full((4, 4), 100, np.uint8), np.full((4, 4), 150, np.uint8), 8,
                      i / 25) for i in range(6)]
    flicker = [Picture(p.y, p.u + 4 * (i % 2), p.v, 8, p.time) for i, p in enumerate(steady)]
    assert chroma_stability(steady, steady) == 0
    assert chroma_stability(flicker, steady) == 2.0  # |±4| on one of two planes


def _clip_with_a_jump(tmp_path: Path) -> Path:
    """Slow motion, then a jump of 24 pixels a frame: only the fast gaps are hard."""
    frames = moving_frames(9, 64, 96, step=(1, 0))
    fast = moving_frames(40, 64, 96, step=(6, 0))
    return write_clip(tmp_path / "jump.mkv", frames + fast[9:18])


def test_hard_frames_are_those_the_neighbours_average_cannot_give(tmp_path: Path) -> None:
    from vidfuse.evaluate import Clip, evaluate_time, hard_frames

    clip = Clip.load(_clip_with_a_jump(tmp_path), 17)
    hard = hard_frames(clip, 2)
    assert len(hard) == 8  # frames 1, 3, ..., 15
    assert hard[:4] == [False] * 4 and all(hard[5:])
    scores = evaluate_time(clip, ["flow"], 2)
    assert scores["flow"].seconds is not None
    assert len(scores["flow"].frames) == len(hard)
