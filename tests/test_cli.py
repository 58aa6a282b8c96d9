"""The command line as a user runs it: exit codes, one-line errors, no stray outputs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from clips import moving_frames, write_clip
from typer.testing import CliRunner

from vidfuse.cli import app
from vidfuse.video.atomic import TEMP_MARKER

runner = CliRunner()


def run_cli(*args: str | Path) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.output


def hearing_ctrl_c() -> None:
    """For a child that must react to SIGINT: a shell running the tests in the background
    starts them with SIGINT ignored, and the child would inherit that."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def assert_one_line_error(output: str, fragment: str) -> None:
    """The error is a single line, the last one printed, and no traceback appears."""
    lines = [line for line in output.strip().splitlines() if line.strip()]
    assert [line for line in lines if line.startswith("error:")] == lines[-1:], output
    assert fragment in lines[-1], output
    assert "Traceback" not in output


def test_upscale_writes_output_and_summary(lossless_clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    code, output = run_cli("upscale", lossless_clip, "--out", out)
    assert code == 0, output
    assert out.exists()
    assert "12 -> 24 frames" in output and "engine flow on cpu" in output


def test_output_named_after_the_input_when_out_is_left_out(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "walk.mkv", moving_frames(4, 64, 96))
    exit_code, output = run_cli("upscale", clip)
    assert exit_code == 0, output
    assert (tmp_path / "walk_x2.mkv").is_file()
    exit_code, output = run_cli("upscale", clip, "--fps", "60000/1001")
    assert exit_code == 0 and (tmp_path / "walk_59.94fps.mkv").is_file()
    exit_code, output = run_cli("upscale", clip)  # never replaced without --overwrite
    assert exit_code == 2 and "output exists" in output


def test_info_describes_streams(audio_clip: Path) -> None:
    code, output = run_cli("info", audio_clip)
    assert code == 0, output
    for fragment in ("h264 96x64", "25.000 fps average (constant)", "50", "aac", "48000 Hz"):
        assert fragment in output


def test_info_json_is_for_scripts(audio_clip: Path) -> None:
    code, output = run_cli("info", audio_clip, "--json")
    assert code == 0, output
    facts = json.loads(output)
    assert (facts["width"], facts["height"], facts["frame_count"]) == (96, 64, 50)
    assert facts["average_fps"] == 25 and facts["variable_frame_rate"] is False
    assert facts["pixel_aspect"] == "1" and facts["display_aspect"] == 1.5
    assert [s["kind"] for s in facts["streams"]] == ["video", "audio"]
    assert facts["colour"]["matrix"] == 1


@pytest.fixture(scope="module")
def bad_inputs(tmp_path_factory: pytest.TempPathFactory, audio_clip: Path) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("bad")
    (root / "empty_dir").mkdir()
    (root / "text.mp4").write_text("this is not a video\n" * 20)
    (root / "zero.mp4").write_bytes(b"")
    data = audio_clip.read_bytes()
    (root / "truncated.mp4").write_bytes(data[: len(data) // 2])
    one = write_clip(root / "one.mkv", moving_frames(1, 64, 96))
    import av  # an audio-only file

    with av.open(str(root / "audio.m4a"), "w") as container, av.open(str(audio_clip)) as src:
        stream = container.add_stream_from_template(src.streams.audio[0])
        for packet in src.demux(audio=0):
            if packet.dts is not None:
                packet.stream = stream
                container.mux(packet)
    return {"empty_dir": root / "empty_dir", "text": root / "text.mp4", "zero": root / "zero.mp4",
            "truncated": root / "truncated.mp4", "one": one, "audio": root / "audio.m4a"}


@pytest.mark.parametrize(
    ("name", "code", "fragment"),
    [
        ("missing", 2, "input not found"),
        ("empty_dir", 2, "no images"),
        ("text", 1, "cannot read"),
        ("zero", 1, "empty file"),
        ("truncated", 1, "cannot read"),
        ("audio", 1, "no video stream"),
        ("one", 1, "at least 2"),
    ],
)
def test_bad_input_gives_one_line_and_exit_code(bad_inputs: dict[str, Path], tmp_path: Path,
                                                name: str, code: int, fragment: str) -> None:
    source = bad_inputs.get(name, tmp_path / "missing.mp4")
    out = tmp_path / "out.mp4"
    exit_code, output = run_cli("upscale", source, "--out", out)
    assert exit_code == code, output
    assert_one_line_error(output, fragment)
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if "partial" in p.name]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--out", "{tmp}/out.avi"], "unsupported output extension"),
        (["--out", "{tmp}/nowhere/out.mp4"], "does not exist"),
        (["--out", "{tmp}/out.mp4", "--codec", "libnope"], "unknown codec"),
        (["--out", "{tmp}/out.mp4", "--factor", "3"], "--factor must be one of 2, 4, 8"),
        (["--out", "{tmp}/out.mp4", "--fps", "fast"], "--fps takes a number"),
        (["--out", "{tmp}/out.mp4", "--fps", "1e9"], "at most 1000"),
        (["--out", "{tmp}/out.mp4", "--fps", "1e6"], "at most 1000"),
        (["--out", "{tmp}/out.mp4", "--fps", "0"], "--fps must be positive"),
        (["--out", "{tmp}/out.mp4", "--engine", "magic"], "unknown engine"),
        (["--out", "{tmp}/out.mp4", "--device", "cuda:7"], "cuda:7 requested"),
        (["--out", "{tmp}/out.mp4", "--codec", "ffv1"], "cannot hold ffv1"),
        (["--out", "{tmp}/out.mov", "--codec", "libsvtav1"], ".mov cannot hold AV1"),
    ],
)
def test_usage_errors_exit_2(lossless_clip: Path, tmp_path: Path, args: list[str],
                             fragment: str) -> None:
    exit_code, output = run_cli("upscale", lossless_clip,
                                *[a.replace("{tmp}", str(tmp_path)) for a in args])
    assert exit_code == 2, output
    assert_one_line_error(output, fragment)


@pytest.mark.parametrize(("args", "fragment"), [
    (["--crf", "99"], "--crf must be 0-51 for libx264, not 99"),
    (["--crf", "-5"], "--crf must be 0-51 for libx264, not -5"),
    (["--preset", "fastest"], "libx264 refused its settings (crf=18, preset=fastest)"),
    (["--codec", "hevc_nvenc", "--crf", "0"], "--crf must be 1-51 for hevc_nvenc, not 0"),
])
def test_encoder_settings_it_refuses_are_named_before_any_work(
        audio_clip: Path, tmp_path: Path, args: list[str], fragment: str) -> None:
    # With audio, the muxer starts on the decode thread: its error must not read as the
    # input's fault.
    out = tmp_path / "out.mp4"
    exit_code, output = run_cli("upscale", audio_clip, "--out", out, *args)
    assert exit_code == 2, output
    assert_one_line_error(output, fragment)
    assert "decode" not in output
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(Path("/dev/nvidiactl").exists(), reason="an NVIDIA driver is present")
def test_gpu_encoder_without_its_gpu_says_so(lossless_clip: Path, tmp_path: Path) -> None:
    exit_code, output = run_cli("upscale", lossless_clip, "--codec", "h264_nvenc", "--out",
                                tmp_path / "out.mp4")
    assert exit_code == 2, output
    assert_one_line_error(output, "h264_nvenc could not start")
    assert "needs that GPU and its driver" in output and list(tmp_path.iterdir()) == []


def test_unwritable_output_directory(lossless_clip: Path, tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    target = locked if os.geteuid() != 0 else Path("/sys")  # root ignores permission bits
    exit_code, output = run_cli("upscale", lossless_clip, "--out", target / "out.mp4")
    assert exit_code == 2, output
    assert_one_line_error(output, "not writable")


def test_existing_output_needs_overwrite_and_input_is_never_replaced(lossless_clip: Path,
                                                                      tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    out.write_bytes(b"precious")
    exit_code, output = run_cli("upscale", lossless_clip, "--out", out)
    assert exit_code == 2 and out.read_bytes() == b"precious"
    assert_one_line_error(output, "--overwrite")
    assert run_cli("upscale", lossless_clip, "--out", out, "--overwrite")[0] == 0
    assert out.stat().st_size > 1000
    before = lossless_clip.read_bytes()
    exit_code, output = run_cli("upscale", lossless_clip, "--out", lossless_clip, "--overwrite")
    assert exit_code == 2 and lossless_clip.read_bytes() == before
    assert_one_line_error(output, "overwrite the input")


def test_version_names_the_libraries_too() -> None:
    # Bug reports need the FFmpeg and torch builds as much as vidfuse's own version.
    from vidfuse import __version__

    code, output = run_cli("--version")
    assert code == 0 and output.startswith(f"vidfuse {__version__}\n")
    assert "PyAV" in output and "FFmpeg" in output and "torch" in output


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    result = runner.invoke(app, ["--debug", "upscale", str(tmp_path / "missing.mp4"),
                                 "--out", str(tmp_path / "o.mp4")])
    assert result.exit_code != 0 and result.exception is not None


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)],
                         ids=["SIGINT", "SIGTERM"])
def test_a_stop_signal_leaves_nothing_behind(tmp_path: Path, signum: int, code: int) -> None:
    clip = write_clip(tmp_path / "long.mp4", moving_frames(400, 240, 320), codec="libx264",
                      pix_fmt="yuv420p")
    out = tmp_path / "out.mp4"
    proc = subprocess.Popen([sys.executable, "-m", "vidfuse", "upscale", str(clip), "--out",
                             str(out), "--engine", "flow"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=hearing_ctrl_c)
    deadline = time.monotonic() + 60
    while not [p for p in tmp_path.iterdir() if "partial" in p.name]:
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == code, stderr  # 128 + the signal, as shells report it
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["long.mp4"]


def test_a_second_ctrl_c_stops_at_once_and_the_next_run_clears_its_leftovers(
        lossless_clip: Path, tmp_path: Path) -> None:
    script = ("import os, signal, time\n"
              "from vidfuse import cli\n"
              "signal.signal(signal.SIGINT, cli.on_stop_signal)\n"
              "try:\n"
              "    os.kill(os.getpid(), signal.SIGINT)\n"
              "    time.sleep(5)\n"
              "except KeyboardInterrupt:\n"
              "    print('cleaning up', flush=True)\n"
              "    os.kill(os.getpid(), signal.SIGINT)\n"
              "    time.sleep(5)\n"
              "print('not stopped')\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          preexec_fn=hearing_ctrl_c)
    assert done.returncode == 130 and done.stdout == "cleaning up\n", done
    assert "interrupted again: stopped at once" in done.stderr

    out = tmp_path / "o.mkv"
    left = tmp_path / f".o{TEMP_MARKER}0123abcd.mkv"
    other = tmp_path / f".o{TEMP_MARKER}0123abcd.mp4"  # another output's: kept
    left.write_bytes(b"half")
    other.write_bytes(b"half")
    code, output = run_cli("upscale", lossless_clip, "--out", out)
    assert code == 0, output
    assert sorted(p.name for p in tmp_path.iterdir()) == [other.name, "o.mkv"]


def test_info_flags_variable_frame_rate(tmp_path: Path) -> None:
    from fractions import Fraction

    clip = write_clip(tmp_path / "vfr.mkv", moving_frames(6, 64, 96),
                      pts=[0, 40, 120, 140, 240, 280], time_base=Fraction(1, 1000))
    code, output = run_cli("info", clip)
    assert code == 0 and "(variable)" in output and "frames      6" in output


def test_progress_bar_on_a_terminal(lossless_clip: Path, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from rich.console import Console

    from vidfuse.cli import upscale

    screen = io.StringIO()
    monkeypatch.setattr(upscale, "err", Console(file=screen, force_terminal=True, width=120))
    code, _ = run_cli("upscale", lossless_clip, "--out", tmp_path / "o.mp4")
    assert code == 0
    text = screen.getvalue()
    assert "12/12" in text and "fps" in text and "done:" in text
    quiet = io.StringIO()
    monkeypatch.setattr(upscale, "err", Console(file=quiet, force_terminal=True))
    assert run_cli("upscale", lossless_clip, "--out", tmp_path / "q.mp4", "--quiet")[0] == 0
    assert quiet.getvalue() == ""


def test_messages_are_not_wrapped_when_stderr_is_not_a_terminal(lossless_clip: Path,
                                                                tmp_path: Path) -> None:
    out = tmp_path / ("a-long-name-that-takes-a-summary-line-past-eighty-columns-" * 2 + ".mkv")
    done = subprocess.run([sys.executable, "-m", "vidfuse", "upscale", str(lossless_clip),
                           "--out", str(out), "--codec", "ffv1"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    summary = [line for line in done.stderr.splitlines() if line.startswith("done:")]
    assert len(summary) == 1 and summary[0].endswith(f"-> {out}"), done.stderr


@pytest.mark.parametrize(("codec", "banner"), [("libx265", "x265 ["), ("libsvtav1", "Svt[")])
def test_encoder_libraries_are_silent_unless_debug(lossless_clip: Path, tmp_path: Path,
                                                   codec: str, banner: str) -> None:
    def stderr(*debug: str) -> str:
        out = tmp_path / f"out{len(debug)}.mkv"
        done = subprocess.run([sys.executable, "-m", "vidfuse", *debug, "upscale",
                               str(lossless_clip), "--out", str(out), "--codec", codec, "-q"],
                              capture_output=True, text=True, timeout=120,
                              env={k: v for k, v in os.environ.items() if k != "SVT_LOG"})
        assert done.returncode == 0, done.stderr
        return done.stderr

    assert banner not in stderr()
    assert banner in stderr("--debug")


@pytest.mark.parametrize("command", [["upscale"], ["batch"], ["eval"], ["info"],
                                     ["weights", "download"], ["train", "interp"]])
def test_help_reads_cleanly_at_80_columns(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"], terminal_width=80)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    usage = next(line for line in lines if "Usage:" in line)
    assert usage.split("[OPTIONS]")[-1].strip() == usage.split("[OPTIONS]")[-1].strip().upper()
    # Flags take no value: only Typer's own --help still shows a type after it.
    assert [line for line in lines if "<bool>" in line and "--help" not in line] == []
    assert "list[str]" not in result.output
    # An example is one line: what follows it is never a wrapped tail of a comment.
    examples = [i for i, line in enumerate(lines) if line.strip().startswith("vidfuse ")]
    assert all(lines[i + 1].strip() == "" for i in examples if i + 1 < len(lines))


@pytest.mark.parametrize(("args", "fragment", "where"), [
    (("upscale", "in.mp4", "--forse"), "No such option: --forse", "vidfuse upscale --help"),
    (("upscale",), "Missing argument 'INPUT'", "vidfuse upscale --help"),
    (("upscale", "-clip.mp4"), "No such option: -c", "vidfuse upscale --help"),
    (("upscale", "in.mp4", "--factor", "two"), "Invalid value for '--factor'",
     "vidfuse upscale --help"),
    (("upscal", "in.mp4"), "No such command 'upscal'", "vidfuse --help"),
])
def test_usage_errors_are_one_line_with_exit_code_2(args: tuple[str, ...], fragment: str,
                                                    where: str) -> None:
    result = subprocess.run([sys.executable, "-m", "vidfuse", *args], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2
    assert_one_line_error(result.stderr, fragment)
    assert f"(see '{where}')" in result.stderr and "╭" not in result.stderr
