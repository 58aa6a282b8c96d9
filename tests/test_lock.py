"""Two runs, one output: the second fails at once (or, in a batch, leaves the file to the
first), and a live run's temporary file is never swept as a dead run's."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import pytest
from clips import moving_frames, write_clip

from vidfuse.video.atomic import TEMP_MARKER
from vidfuse.video.lock import lock_path, output_lock


def _vidfuse(*args: str | Path, script: str | None = None) -> subprocess.Popen[str]:
    command = [sys.executable, "-c", script] if script else [sys.executable, "-m", "vidfuse"]
    return subprocess.Popen([*command, *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _frames(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_clip(tmp_path_factory.mktemp("lock") / "in.mkv", moving_frames(20, 64, 96))


# A vidfuse that, once it holds the output's lock, waits for a file to appear before it works
# (a long run caught in the act, without guessing at timing).
_WAITING = """
import sys, time
from pathlib import Path
import vidfuse.api as api
run = api.run
go = Path(sys.argv[-1])
def waiting(*args, **named):
    while not go.exists():
        time.sleep(0.05)
    return run(*args, **named)
api.run = waiting
from vidfuse.cli import main
sys.argv = ["vidfuse", *sys.argv[1:-1]]
main()
"""


def test_a_second_run_to_the_same_output_fails_at_once_naming_the_first(
        clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "same.mkv"
    go = tmp_path / "go"
    first = _vidfuse("upscale", clip, "--out", out, "--codec", "ffv1", go, script=_WAITING)
    deadline = time.monotonic() + 60
    while not lock_path(out).exists() or not lock_path(out).read_text().strip():
        assert time.monotonic() < deadline and first.poll() is None
        time.sleep(0.05)

    second = _vidfuse("upscale", clip, "--out", out, "--codec", "ffv1")
    _, errors = second.communicate(timeout=120)
    assert second.returncode == 1
    assert errors.strip().splitlines()[-1] == (
        f"error: another vidfuse (pid {first.pid}) is writing same.mkv: wait for it, or "
        "choose another output")
    assert "unexpected" not in errors

    go.touch()
    _, errors = first.communicate(timeout=120)
    assert first.returncode == 0, errors
    assert _frames(out) == 40
    assert not lock_path(out).exists()


def test_a_live_runs_temporary_file_is_never_swept(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.mkv"
    working = tmp_path / f".out{TEMP_MARKER}0123abcd.mkv"
    with output_lock(out):  # this test is the live run
        working.write_bytes(b"half a video")
        done = subprocess.run([sys.executable, "-m", "vidfuse", "upscale", str(clip), "--out",
                               str(out)], capture_output=True, text=True, timeout=120)
        assert done.returncode == 1 and f"(pid {os.getpid()})" in done.stderr
        assert working.exists() and not out.exists()


_KILLED_WHILE_WRITING = """
import os, signal, sys
from vidfuse.video.writer import VideoFileSink
def dying(self):
    os.kill(os.getpid(), signal.SIGKILL)
VideoFileSink.close = dying
from vidfuse.cli import main
sys.argv[0] = "vidfuse"
main()
"""


def test_a_killed_runs_temporary_file_is_removed_by_the_next_run(clip: Path,
                                                                 tmp_path: Path) -> None:
    out = tmp_path / "out.mkv"
    args = ("upscale", clip, "--out", out, "--codec", "ffv1")
    killed = _vidfuse(*args, script=_KILLED_WHILE_WRITING)
    killed.communicate(timeout=120)
    assert killed.returncode == -signal.SIGKILL
    left = list(tmp_path.glob(f".out{TEMP_MARKER}*.mkv"))
    assert len(left) == 1 and not out.exists()

    again = _vidfuse(*args)
    _, errors = again.communicate(timeout=120)
    assert again.returncode == 0, errors
    assert not left[0].exists() and _frames(out) == 40


def test_the_lock_is_reentrant_and_refuses_others(tmp_path: Path) -> None:
    out = tmp_path / "x.mkv"
    with output_lock(out), output_lock(out):  # a batch locks before the upscale it runs
        assert lock_path(out).read_text().strip() == str(os.getpid())
        other = subprocess.run(
            [sys.executable, "-c", "import sys; from pathlib import Path; "
             "from vidfuse.video.lock import output_lock; "
             "output_lock(Path(sys.argv[1])).__enter__()", str(out)],
            capture_output=True, text=True, timeout=60)
        assert other.returncode == 1 and "OutputBusy" in other.stderr
    with output_lock(out):  # released: free again
        pass
    assert not lock_path(out).exists()


def test_two_batches_over_one_folder_share_the_work(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for index in range(6):
        write_clip(folder / f"{index}.mkv", moving_frames(16, 64, 96, seed=index))
    out = tmp_path / "out"
    runs = [_vidfuse("batch", folder, "--out", out, "--codec", "ffv1", "--report",
                     tmp_path / f"report{n}.json") for n in range(2)]
    for run in runs:
        _, errors = run.communicate(timeout=300)
        assert run.returncode == 0, errors
        assert "unexpected" not in errors
    reports = [json.loads((tmp_path / f"report{n}.json").read_text()) for n in range(2)]
    for index in range(6):
        statuses = sorted(next(r["status"] for r in report if r["file"].endswith(f"{index}.mkv"))
                          for report in reports)
        assert statuses.count("done") == 1, statuses  # made once, by one of them
        assert set(statuses) <= {"done", "skipped", "busy"}
        assert _frames(out / f"{index}.mkv") == 32
    assert not list(out.glob(".*vidfuse-lock"))
