"""``-`` as input or output: vidfuse in a shell pipeline."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import av
from clips import moving_frames, write_clip
from test_cli import run_cli


def vidfuse(*args: str | Path, stdin: Path | None = None, stdout: int | Path | None = None
            ) -> tuple[int, str]:
    """Run the command as a shell pipeline would: ``stdin`` fed through a pipe (not
    seekable, unlike a redirected file), ``stdout`` a file or a terminal."""
    with open(stdout, "wb") if isinstance(stdout, Path) else open(os.devnull, "wb") as sink:
        done = subprocess.run([sys.executable, "-m", "vidfuse", *map(str, args)],
                              input=stdin.read_bytes() if stdin else b"",
                              stdout=stdout if isinstance(stdout, int) else sink,
                              stderr=subprocess.PIPE, timeout=120)
    return done.returncode, done.stderr.decode()


def test_video_and_audio_flow_through_pipes(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "in.mkv", moving_frames(50, 64, 96), audio_seconds=2.0)
    out = tmp_path / "out.mkv"
    code, stderr = vidfuse("upscale", "-", "--out", "-", stdin=clip, stdout=out)
    assert code == 0, stderr
    assert "done: 50 -> 100 frames" in stderr
    with av.open(str(out)) as container:
        assert container.format.name.startswith("matroska")
        assert [s.type for s in container.streams] == ["video", "audio"]
        assert sum(1 for _ in container.decode(video=0)) == 100
    # A pipe is not seeked (within the demuxer's buffer a seek lands anywhere): a span
    # is found by decoding from the top.
    code, stderr = vidfuse("upscale", "-", "--out", tmp_path / "part.mkv", "--start", "1",
                           stdin=clip)
    assert code == 0 and "done: 25 -> 50 frames" in stderr, stderr


def test_what_a_pipe_cannot_do(tmp_path: Path) -> None:
    # Its index comes after the frames, beyond what the demuxer buffers.
    clip = write_clip(tmp_path / "in.mp4", moving_frames(100, 64, 96), codec="libx264",
                      pix_fmt="yuv420p", audio_seconds=4.0)
    code, stderr = vidfuse("upscale", "-", "--out", tmp_path / "o.mkv", stdin=clip)
    assert code == 1 and "index first" in stderr and "Traceback" not in stderr, stderr
    assert not (tmp_path / "o.mkv").exists()
    code, output = run_cli("upscale", "-")
    assert code == 2 and "name the output" in output
    code, output = run_cli("upscale", "-", "--out", "-", "--keyframe-every", "4",
                           "--adapt", "3")
    assert code == 2 and "--adapt reads the input a second time" in output
    # Video is never printed at a terminal.
    terminal, far_end = pty.openpty()
    try:
        code, stderr = vidfuse("upscale", clip, "--out", "-", stdout=far_end)
    finally:
        os.close(terminal)
        os.close(far_end)
    assert code == 2 and "--out - writes video to standard output" in stderr, stderr


def test_a_reader_that_stops_early_gets_one_line_not_a_traceback(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "in.mkv", moving_frames(40, 240, 320))  # MBs of output
    run = subprocess.Popen([sys.executable, "-m", "vidfuse", "upscale", clip, "--out", "-"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert run.stdout is not None and run.stdout.read(100)[:4] == b"\x1aE\xdf\xa3"  # Matroska
    run.stdout.close()  # as `| head -c 100` does
    _, stderr = run.communicate(timeout=120)
    assert run.returncode == 1
    assert stderr.decode().strip().splitlines()[-1] == (
        "error: the program reading the output stopped reading it")
