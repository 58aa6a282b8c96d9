"""`vidfuse batch`: a folder of videos, resumable, failure-tolerant, parallel or on Ray."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import pytest
from clips import moving_frames, write_clip
from test_cli import hearing_ctrl_c, run_cli

from vidfuse.video.atomic import TEMP_MARKER


def frame_count(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "in"
    (root / "sub").mkdir(parents=True)
    write_clip(root / "a.mkv", moving_frames(6, 64, 96))
    write_clip(root / "sub" / "b.mkv", moving_frames(8, 64, 96, seed=1))
    (root / "bad.mp4").write_text("not a video\n" * 50)
    (root / "notes.txt").write_text("ignored: not a video name")
    return root


def leftovers(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if TEMP_MARKER in p.name]


def test_batch_mirrors_the_tree_reports_failures_and_resumes(folder: Path,
                                                             tmp_path: Path) -> None:
    out, report = tmp_path / "out", tmp_path / "report.json"
    code, output = run_cli("batch", folder, "--out", out, "--recursive", "--report", report)
    assert code == 1, output  # one file failed
    assert frame_count(out / "a.mkv") == 12 and frame_count(out / "sub" / "b.mkv") == 16
    rows = {Path(r["file"]).name: r for r in json.loads(report.read_text())}
    assert set(rows) == {"a.mkv", "b.mkv", "bad.mp4"}
    assert rows["a.mkv"]["status"] == "done" and rows["a.mkv"]["frames"] == 6
    assert rows["bad.mp4"]["status"] == "failed" and "cannot read" in rows["bad.mp4"]["error"]
    assert "2 done, 1 failed of 3" in output

    # A killed run leaves a temporary file and no output: that file is redone, the other kept.
    (out / "sub" / "b.mkv").unlink()
    (out / "sub" / f".b{TEMP_MARKER}deadbeef.mkv").write_bytes(b"half")
    finished = (out / "a.mkv").stat().st_mtime_ns
    code, output = run_cli("batch", folder, "--out", out, "--recursive", "--report", report)
    rows = {Path(r["file"]).name: r for r in json.loads(report.read_text())}
    assert rows["a.mkv"]["status"] == "skipped" and rows["b.mkv"]["status"] == "done"
    assert (out / "a.mkv").stat().st_mtime_ns == finished and not leftovers(out)

    code, output = run_cli("batch", folder, "--out", out, "--recursive", "--overwrite",
                           "--pattern", "*.mkv")
    assert code == 0, output
    assert "2 done of 2" in output


def test_parallel_jobs_give_the_same_outputs(folder: Path, tmp_path: Path) -> None:
    code, output = run_cli("batch", folder, "--out", tmp_path / "out", "-r", "--jobs", "2",
                           "--pattern", "*.mkv", "--engine", "convlstm")
    assert code == 0, output
    assert frame_count(tmp_path / "out" / "sub" / "b.mkv") == 16


def test_bad_batch_arguments(folder: Path, tmp_path: Path) -> None:
    code, output = run_cli("batch", folder, "--out", folder)
    assert code == 2 and "must differ from the input" in output
    code, output = run_cli("batch", folder, "--out", tmp_path / "o", "--pattern", "*.xyz")
    assert code == 2 and "no files matching" in output
    code, output = run_cli("batch", tmp_path / "missing", "--out", tmp_path / "o")
    assert code == 2 and "not a directory" in output
    # Encoder settings are the same for every file: refused once, before any file is read.
    code, output = run_cli("batch", folder, "--out", tmp_path / "o", "-r", "--crf", "70")
    assert code == 2 and "--crf must be 0-51" in output and "failed" not in output
    assert not (tmp_path / "o").exists()


def test_ray_cluster_runs_one_task_per_file(folder: Path, tmp_path: Path) -> None:
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        report = tmp_path / "report.json"
        code, output = run_cli("batch", folder, "--out", tmp_path / "out", "-r", "--cluster",
                               "auto", "--report", report)
    finally:
        ray.shutdown()
    assert code == 1, output
    statuses = {Path(r["file"]).name: r["status"] for r in json.loads(report.read_text())}
    assert statuses == {"a.mkv": "done", "b.mkv": "done", "bad.mp4": "failed"}
    assert frame_count(tmp_path / "out" / "sub" / "b.mkv") == 16


def test_ctrl_c_keeps_finished_files_and_leaves_no_partial_ones(tmp_path: Path) -> None:
    root = tmp_path / "in"
    root.mkdir()
    for index in range(4):
        write_clip(root / f"{index}.mkv", moving_frames(40, 144, 256, seed=index))
    out = tmp_path / "out"
    run = subprocess.Popen([sys.executable, "-m", "vidfuse", "batch", str(root), "--out",
                            str(out), "--engine", "convlstm"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, preexec_fn=hearing_ctrl_c)
    deadline = time.monotonic() + 120
    while not (out / "0.mkv").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    run.send_signal(signal.SIGINT)
    stdout, stderr = run.communicate(timeout=60)
    assert run.returncode == 130, stderr
    assert "interrupted" in stderr and "cancelled" in stdout
    assert frame_count(out / "0.mkv") == 80 and not leftovers(out)


def test_workers_share_the_cores_without_loading_torch() -> None:
    # Each of cpu_count() workers gets one thread; torch, loaded only by learned models,
    # takes that count when it is loaded.
    script = ("import os, sys\n"
              "from vidfuse.workers import share_cores\n"
              "share_cores(os.cpu_count() or 1)\n"
              "assert 'torch' not in sys.modules\n"
              "import torch\n"
              "print(torch.get_num_threads())\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1"


def test_a_cancel_event_stops_the_batch_and_returns_what_finished(folder: Path,
                                                                  tmp_path: Path) -> None:
    import threading

    from vidfuse import BatchInterrupted, UpscaleOptions
    from vidfuse.batch import plan, run_batch

    cancel = threading.Event()
    pairs = plan(folder, tmp_path / "out", recursive=True)
    assert len(pairs) >= 2
    with pytest.raises(BatchInterrupted) as stopped:
        run_batch(UpscaleOptions(pairs[0][0], pairs[0][1]), pairs,
                  on_result=lambda result: cancel.set(), cancel=cancel)
    statuses = [r.status for r in stopped.value.results]
    assert statuses[0] == "done" and set(statuses[1:]) == {"cancelled"}
    assert pairs[0][1].exists() and not any(target.exists() for _, target in pairs[1:])
