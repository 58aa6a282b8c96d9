"""Long videos in segments: the same output as one pass, resumed after a kill, in parallel."""

from __future__ import annotations

import dataclasses
import json
import re
import signal
import subprocess
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from clips import frame_times, moving_frames, read_frames, write_clip, write_interlaced
from recording import RecordingObserver

from vidfuse import EncodeSettings, Span, UpscaleOptions, upscale
from vidfuse.errors import OutputError, UsageError
from vidfuse.metrics import psnr
from vidfuse.work_folder import work_folder

GOP = 10  # keyframes every 10 frames: segments start between them, and seek back to one


def _shots(count: int, shots: int = 3, size: tuple[int, int] = (64, 96)) -> list[np.ndarray]:
    """``shots`` runs of a gliding texture, each a new texture: scene cuts between them."""
    frames: list[np.ndarray] = []
    for shot in range(shots):
        frames += moving_frames(count, *size, seed=shot, step=(2 + shot, 1))
    return frames


def _h264(path: Path, frames: list[np.ndarray], **settings: Any) -> Path:
    return write_clip(path, frames, codec="libx264", pix_fmt="yuv420p", gop=GOP, **settings)


def _grey(rgb: np.ndarray) -> np.ndarray:
    luma = rgb.astype(np.float32) @ np.array([0.2126, 0.7152, 0.0722], np.float32)
    return np.repeat(np.clip(luma + 0.5, 0, 255).astype(np.uint8)[..., None], 3, axis=2)


@pytest.fixture(scope="module")
def three_shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """4.8 s at 25 fps: three 1.6 s shots, with a 4.8 s audio tone."""
    return _h264(tmp_path_factory.mktemp("segments") / "shots.mp4", _shots(40),
                 audio_seconds=4.8)


def _both(tmp_path: Path, options: UpscaleOptions, segment: float = 1.0
          ) -> tuple[Path, Path, Any]:
    """The single pass's output, the segmented run's, and the segmented run's result."""
    single = tmp_path / f"single{options.output.suffix}"
    cut = tmp_path / f"cut{options.output.suffix}"
    upscale(dataclasses.replace(options, output=single, segment=0, jobs=1, cluster=None))
    result = upscale(dataclasses.replace(options, output=cut, segment=segment))
    return single, cut, result


def _assert_identical(single: Path, cut: Path) -> None:
    assert frame_times(cut) == frame_times(single)
    made, expected = read_frames(cut), read_frames(single)
    assert len(made) == len(expected)
    differing = [i for i, (a, b) in enumerate(zip(made, expected, strict=True))
                 if not np.array_equal(a, b)]
    assert differing == []


LOSSLESS = EncodeSettings(codec="ffv1")


@pytest.mark.parametrize("settings", [
    {"factor": 2}, {"factor": 4}, {"slowmo": True, "factor": 2}, {"dedup": True},
    {"span": Span(0.9, 3.0)}, {"keyframe_every": 7}, {"deinterlace": True},
], ids=["factor2", "factor4", "slowmo", "dedup", "start-duration", "keyframe-every",
        "deinterlace-flagless"])
def test_segments_join_into_the_single_pass_output(three_shots: Path, tmp_path: Path,
                                                   settings: dict[str, Any]) -> None:
    options = UpscaleOptions(three_shots, tmp_path / "out.mkv", encode=LOSSLESS, **settings)
    single, cut, result = _both(tmp_path, options)
    assert result.segments >= 3
    _assert_identical(single, cut)
    assert not work_folder(dataclasses.replace(options, output=cut)).exists()


def test_60_fps_from_ntsc_film_rate_is_the_same_in_segments(tmp_path: Path) -> None:
    clip = _h264(tmp_path / "film.mp4", _shots(30), rate=Fraction(24000, 1001))
    options = UpscaleOptions(clip, tmp_path / "out.mkv", fps=Fraction(60), encode=LOSSLESS)
    single, cut, result = _both(tmp_path, options)
    assert result.segments >= 3
    _assert_identical(single, cut)


def test_held_drawings_with_dedup_are_the_same_in_segments(tmp_path: Path) -> None:
    """Every drawing held for two frames: segments must drop the very repeats a single pass
    drops, and start their gaps from the same kept frames."""
    held = [f for f in _shots(20) for _ in range(2)]
    clip = write_clip(tmp_path / "twos.mkv", held)  # lossless: repeats are exact
    options = UpscaleOptions(clip, tmp_path / "out.mkv", dedup=True, encode=LOSSLESS)
    single, cut, result = _both(tmp_path, options)
    assert result.segments >= 3 and result.repeats >= 50
    _assert_identical(single, cut)


def test_segments_suggest_dedup_as_one_pass_does(tmp_path: Path) -> None:
    held = [f for f in _shots(20) for _ in range(2)]
    clip = write_clip(tmp_path / "twos.mkv", held)
    warned = []
    for segment in (0, 1):
        observer = RecordingObserver()
        upscale(UpscaleOptions(clip, tmp_path / f"out{segment}.mkv", segment=segment,
                               encode=LOSSLESS), observer)
        warned.append([w for w in observer.warnings if "--dedup" in w])
    assert warned[0] and warned[1]  # the plan read packets only: the segments counted


def test_variable_frame_rate_input_keeps_its_timing_in_segments(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    pts = np.cumsum(rng.integers(25, 60, size=120)).tolist()
    clip = write_clip(tmp_path / "vfr.mkv", _shots(40), pts=pts, time_base=Fraction(1, 1000),
                      codec="libx264", pix_fmt="yuv420p", gop=GOP)
    options = UpscaleOptions(clip, tmp_path / "out.mkv", encode=LOSSLESS)
    single, cut, result = _both(tmp_path, options)
    assert result.segments >= 3
    _assert_identical(single, cut)


def test_a_clock_that_starts_late_is_the_same_in_segments(tmp_path: Path) -> None:
    """A recording whose first frame is at 11.4 s (broadcast MPEG-TS, a cut-out of a longer
    file): segments seek on the stream's own clock."""
    clip = write_clip(tmp_path / "late.mkv", _shots(40), pts=[285 + i for i in range(120)],
                      codec="libx264", pix_fmt="yuv420p", gop=GOP)
    options = UpscaleOptions(clip, tmp_path / "out.mkv", encode=LOSSLESS,
                             span=Span(0.5, 3.5))
    single, cut, result = _both(tmp_path, options)
    assert result.segments >= 3
    _assert_identical(single, cut)


def test_interlaced_input_deinterlaced_in_segments(tmp_path: Path) -> None:
    clip = write_interlaced(tmp_path / "tff.mp4", 100, gop=GOP)
    options = UpscaleOptions(clip, tmp_path / "out.mkv", deinterlace=True, encode=LOSSLESS)
    single, cut, result = _both(tmp_path, options)
    assert result.segments >= 3
    _assert_identical(single, cut)


def test_colour_from_a_reference_is_the_same_in_segments(tmp_path: Path) -> None:
    """Fusion from a reference carries colour through a whole shot: segments start at the
    scene cuts, where it starts afresh."""
    truth = _shots(40)
    grey = _h264(tmp_path / "grey.mp4", [_grey(f) for f in truth])
    reference = write_clip(tmp_path / "colour.mkv", truth[::4], rate=Fraction(25, 4))
    options = UpscaleOptions(grey, tmp_path / "out.mkv", reference=reference,
                             encode=LOSSLESS)
    single, cut, result = _both(tmp_path, options)
    assert result.segments >= 3  # at cuts only (the textures also jump as they wrap)
    _assert_identical(single, cut)


EXAMPLE = Path(__file__).parent.parent / "examples" / "bbb_2s.mp4"


def test_default_codec_segments_are_as_good_as_the_single_pass(tmp_path: Path) -> None:
    """Real footage (with audio) in the default lossy codec: the same frames at the same
    times and the same audio; each segment's encoder starts afresh, so frames differ by
    coding noise, but come as close to the pictures as the single pass's do."""
    options = UpscaleOptions(EXAMPLE, tmp_path / "out.mp4")
    single, cut, result = _both(tmp_path, options)
    assert result.segments == 2
    assert frame_times(cut) == frame_times(single)
    assert _audio(cut) == _audio(single)
    truth = read_frames(upscale(dataclasses.replace(options, output=tmp_path / "truth.mkv",
                                                    encode=LOSSLESS, segment=0)).output)
    ours, theirs = ([min(psnr(t, f), 60.0) for t, f in zip(truth, read_frames(path),
                                                           strict=True)]
                    for path in (cut, single))
    assert len(ours) == len(theirs) == 100
    assert np.mean(ours) >= np.mean(theirs) - 0.3
    assert min(ours) >= min(theirs) - 1.0


def _audio(path: Path) -> list[tuple[int | None, int | None, bytes]]:
    with av.open(str(path)) as container:
        return [(p.pts, p.duration, bytes(p)) for p in container.demux(audio=0) if p.size]


def _everything_but_frames(path: Path) -> tuple[object, ...]:
    """What a file carries beside its pictures: streams with their tags and dispositions,
    the file's tags, chapters, attachments and the packets of every stream but the main
    video (audio, subtitles, cover art, other angles)."""
    with av.open(str(path)) as container:
        streams = [(s.type, s.codec_context and s.codec_context.name, dict(s.metadata),
                    int(s.disposition))
                   for s in container.streams]
        chapters = [(c["start"], c["end"], dict(c["metadata"])) for c in container.chapters()]
        packets = [(p.stream.index, p.pts, p.duration, bytes(p))
                   for p in container.demux() if p.stream.index != 0 and p.size]
        return streams, dict(container.metadata), chapters, packets


def test_streams_tags_and_chapters_are_kept_as_in_one_pass(tmp_path: Path) -> None:
    from clips import Track, write_tracks

    clip = write_tracks(tmp_path / "tracks.mkv", [
        Track("libopus", language="fra", title="French dub", disposition="default"),
        Track("aac", language="deu"),
        Track("subrip", language="eng", disposition="forced", lines=("one", "two", "three")),
    ], frames=100)
    chaptered = write_clip(tmp_path / "chapters.mp4", _shots(40), codec="libx264",
                           pix_fmt="yuv420p", gop=GOP, audio_seconds=4.8, rotation=90,
                           chapters=[(0, 1.5, "Intro"), (1.5, 4.8, "Main")])
    for source in (clip, chaptered):
        options = UpscaleOptions(source, tmp_path / f"out{source.suffix}", encode=LOSSLESS
                                 if source.suffix == ".mkv" else EncodeSettings())
        single, cut, result = _both(tmp_path, options)
        assert result.segments >= 3
        assert _everything_but_frames(cut) == _everything_but_frames(single)
        single.unlink()
        cut.unlink()


@pytest.mark.parametrize("span", [Span(), Span(1.1, 1.6)], ids=["whole", "span"])
def test_another_angle_and_cover_art_are_kept_as_in_one_pass(tmp_path: Path,
                                                             span: Span) -> None:
    from clips import cover_jpeg, write_with_angle

    clip = tmp_path / "angles.mkv"
    write_with_angle(clip, "libx264", frames=90, cover=cover_jpeg())
    options = UpscaleOptions(clip, tmp_path / "out.mkv", encode=LOSSLESS, span=span)
    single, cut, result = _both(tmp_path, options)
    assert result.segments >= 2
    kept = _everything_but_frames(single)
    assert [kind for kind, *_ in kept[0]] == ["video", "video", "video"]  # main, angle, cover
    assert _everything_but_frames(cut) == kept


def test_progress_counts_every_input_frame_once(three_shots: Path, tmp_path: Path) -> None:
    observer = RecordingObserver()
    result = upscale(UpscaleOptions(three_shots, tmp_path / "out.mkv", segment=1,
                                    encode=LOSSLESS), observer)
    assert observer.info.frame_count == result.frames_in == 120
    assert observer.progress == sorted(observer.progress)
    assert observer.progress[-1] == 120
    assert "planning segments" in observer.notes


def test_jobs_make_segments_in_worker_processes(three_shots: Path, tmp_path: Path) -> None:
    options = UpscaleOptions(three_shots, tmp_path / "out.mkv", encode=LOSSLESS, jobs=2)
    single, cut, result = _both(tmp_path, options)
    assert result.segments >= 3
    _assert_identical(single, cut)


def _kill_at_segment(number: int, signum: int = signal.SIGKILL) -> str:
    """A vidfuse command that SIGKILLs itself as it starts segment ``number`` (a crash or
    power loss at a known point, not at a moment a timer guesses), or sends ``signum``."""
    return ("import os, signal, sys\n"
            "import vidfuse.segmented as run\n"
            "made = run.make_segment\n"
            "def dying(options, plan, segment, *rest, **named):\n"
            f"    if segment.number == {number}:\n"
            f"        os.kill(os.getpid(), {int(signum)})\n"
            "    return made(options, plan, segment, *rest, **named)\n"
            "run.make_segment = dying\n"
            # A shell running tests in the background starts them with SIGINT ignored.
            "signal.signal(signal.SIGINT, signal.SIG_DFL)\n"
            "from vidfuse.cli import main\n"
            "sys.argv[0] = 'vidfuse'\n"
            "main()\n")


def _vidfuse(*args: str | Path, script: str | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", script] if script else \
        [sys.executable, "-m", "vidfuse"]
    return subprocess.run([*command, *map(str, args)], capture_output=True, text=True,
                          timeout=300, check=False)


def _stopped_at(clip: Path, tmp_path: Path, number: int, signum: int = signal.SIGKILL
               ) -> tuple[tuple[str | Path, ...], subprocess.CompletedProcess[str]]:
    """The command (to ``out.mkv``, lossless, 1 s segments) and its run stopped by ``signum``
    as it starts segment ``number``."""
    args = ("upscale", clip, "--out", tmp_path / "out.mkv", "--codec", "ffv1", "--segment",
            "1")
    return args, _vidfuse(*args, script=_kill_at_segment(number, signum))


def _assert_uninterrupted_output(clip: Path, tmp_path: Path) -> None:
    whole = tmp_path / "whole.mkv"
    upscale(UpscaleOptions(clip, whole, encode=LOSSLESS, segment=1))
    _assert_identical(whole, tmp_path / "out.mkv")


def test_a_killed_run_resumes_from_its_finished_segments(three_shots: Path,
                                                         tmp_path: Path) -> None:
    args, killed = _stopped_at(three_shots, tmp_path, 3)
    assert killed.returncode == -signal.SIGKILL
    assert not (tmp_path / "out.mkv").exists()
    folder = tmp_path / ".out.mkv.vidfuse-segments"
    assert sorted(p.name for p in folder.glob("segment-*.json")) == [
        "segment-00001.json", "segment-00002.json"]

    resumed = _vidfuse(*args)
    assert resumed.returncode == 0, resumed.stderr
    assert re.search(r"^resuming: 2 of 5 segments done$", resumed.stderr, re.MULTILINE)
    assert "(42 input frames made before)" in resumed.stderr  # not in this run's speed
    assert not folder.exists()
    _assert_uninterrupted_output(three_shots, tmp_path)


def test_ctrl_c_says_the_finished_segments_are_kept(three_shots: Path, tmp_path: Path) -> None:
    _, stopped = _stopped_at(three_shots, tmp_path, 3, signal.SIGINT)
    assert stopped.returncode == 130
    last = stopped.stderr.strip().splitlines()[-1]
    assert last == (f"error: interrupted; no output was written; 2 finished segment(s) are "
                    f"kept in {tmp_path / '.out.mkv.vidfuse-segments'}: the same command "
                    "resumes from them")
    assert not (tmp_path / "out.mkv").exists()


def test_a_damaged_segment_is_made_again(three_shots: Path, tmp_path: Path) -> None:
    args, killed = _stopped_at(three_shots, tmp_path, 4)
    assert killed.returncode == -signal.SIGKILL
    damaged = tmp_path / ".out.mkv.vidfuse-segments" / "segment-00002.mkv"
    damaged.write_bytes(damaged.read_bytes()[: damaged.stat().st_size // 2])

    resumed = _vidfuse(*args)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming: 2 of 5 segments done" in resumed.stderr  # 1 and 3; 2 made again
    _assert_uninterrupted_output(three_shots, tmp_path)


def test_changed_options_do_not_reuse_old_segments(three_shots: Path, tmp_path: Path) -> None:
    args, killed = _stopped_at(three_shots, tmp_path, 3)
    assert killed.returncode == -signal.SIGKILL

    changed = _vidfuse(*args, "--factor", "4")
    assert changed.returncode == 0, changed.stderr
    assert "--factor differs (2 then, 4 now); starting over" in changed.stderr
    assert "resuming:" not in changed.stderr
    assert len(frame_times(tmp_path / "out.mkv")) == 480


def test_a_segment_that_fails_twice_names_its_time_range_and_keeps_the_others(
        three_shots: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import vidfuse.segmented as run

    made = run.make_segment
    tries: list[int] = []

    def failing(options: UpscaleOptions, plan: Any, segment: Any, *rest: Any,
                **named: Any) -> Any:
        if segment.number == 2:
            tries.append(2)
            raise RuntimeError("the disk is full")
        return made(options, plan, segment, *rest, **named)

    monkeypatch.setattr(run, "make_segment", failing)
    out = tmp_path / "out.mkv"
    with pytest.raises(OutputError, match=r"segment 2 \(0:00\.9 to 0:01\.7\) failed twice: "
                                          r"RuntimeError: the disk is full"):
        upscale(UpscaleOptions(three_shots, out, encode=LOSSLESS, segment=1))
    assert tries == [2, 2]
    assert not out.exists()
    assert (tmp_path / ".out.mkv.vidfuse-segments" / "segment-00001.json").exists()


def test_one_failure_is_retried(three_shots: Path, tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    import vidfuse.segmented as run

    made = run.make_segment
    failed: list[int] = []

    def flaky(options: UpscaleOptions, plan: Any, segment: Any, *rest: Any,
              **named: Any) -> Any:
        if segment.number == 3 and not failed:
            failed.append(3)
            raise OSError("a network share went away")
        return made(options, plan, segment, *rest, **named)

    monkeypatch.setattr(run, "make_segment", flaky)
    result = upscale(UpscaleOptions(three_shots, tmp_path / "out.mkv", encode=LOSSLESS,
                                    segment=1))
    assert failed == [3] and result.frames_out == 240


def test_segments_refuse_what_runs_in_one_pass(three_shots: Path, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="PNG frames are numbered in one pass"):
        upscale(UpscaleOptions(three_shots, tmp_path / "frames", segment=1))
    with pytest.raises(UsageError, match="--jobs must be 1 or more"):
        upscale(UpscaleOptions(three_shots, tmp_path / "out.mkv", jobs=0))


def test_short_videos_run_in_one_pass_by_default(three_shots: Path, tmp_path: Path) -> None:
    result = upscale(UpscaleOptions(three_shots, tmp_path / "out.mkv"))
    assert result.segments == 0


@pytest.fixture(scope="module")
def two_node_cluster() -> Any:
    """A Ray head and a second node on this machine, one CPU each, on loopback (conftest.py
    keeps Ray there)."""
    ray = pytest.importorskip("ray")
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    assert cluster.address.startswith("127.0.0.1:")
    try:
        yield cluster
    finally:
        ray.shutdown()
        cluster.shutdown()


def test_a_ray_cluster_makes_segments_on_both_nodes(three_shots: Path, tmp_path: Path,
                                                   two_node_cluster: Any) -> None:
    options = UpscaleOptions(three_shots, tmp_path / "out.mkv", encode=LOSSLESS,
                             cluster=two_node_cluster.address, segment=1)
    single, cut, result = _both(tmp_path, options)
    assert result.segments == 5
    assert len(result.nodes) == 2
    _assert_identical(single, cut)


def test_the_plan_is_kept_as_json(three_shots: Path, tmp_path: Path) -> None:
    """What a resumed run reads back: the plan round-trips with infinite ends."""
    from vidfuse.engines import build_engine
    from vidfuse.segments import plan_segments
    from vidfuse.work_folder import plan_from

    plan = plan_segments(UpscaleOptions(three_shots, tmp_path / "o.mkv"),
                         build_engine("auto", "cpu"), 1.0)
    assert plan.segments[-1].end == float("inf")
    assert plan_from(json.loads(json.dumps(dataclasses.asdict(plan)))) == plan


def test_batch_on_a_cluster_spreads_a_long_files_segments(three_shots: Path, tmp_path: Path,
                                                         two_node_cluster: Any) -> None:
    from vidfuse.batch import plan, run_batch

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.mp4").write_bytes(three_shots.read_bytes())
    (folder / "b.mp4").write_bytes(three_shots.read_bytes())
    template = UpscaleOptions(Path("."), Path("."), encode=LOSSLESS, segment=1)
    pairs = plan(folder, tmp_path / "out", extension="mkv")
    results = run_batch(template, pairs, cluster=two_node_cluster.address)
    assert [r.status for r in results] == ["done", "done"]
    assert all(r.segments == 5 and len(r.nodes) == 2 for r in results)
    single = tmp_path / "single.mkv"
    upscale(UpscaleOptions(three_shots, single, encode=LOSSLESS, segment=0))
    for _, target in pairs:
        _assert_identical(single, target)
