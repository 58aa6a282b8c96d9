"""Mutated files: every run ends in a complete output or a one-line error, nothing else.

Small seed files in four container/codec families, and a Matroska file with a second
video stream and cover art, are built with PyAV (byte for byte the same every run), then
mutated (truncated, bits flipped, ranges zeroed or duplicated, flips aimed at the header)
from a fixed seed, and `vidfuse upscale` runs on each (to MKV and MP4 in turn) in its own
process with a time limit. A run must either exit 0 with a decodable output, or exit 1 or
2 with one `error:` line that is not an internal ("unexpected") error, leaving no file at
the output path; none may hang, print a traceback or use more than ``MEMORY_MIB``. A
failing mutant is kept in pytest's cache (``.pytest_cache/d/fuzz-failures``) and named in
the failure, to replay it with `vidfuse upscale MUTANT --out x.mkv`.
"""

from __future__ import annotations

import resource
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
import pytest
from clips import BITEXACT, cover_jpeg, moving_frames, write_with_angle

# (name, container suffix, video codec, pixel format, audio codec)
SEEDS = [
    ("h264-aac", ".mp4", "libx264", "yuv420p", "aac"),
    ("vp9-opus", ".webm", "libvpx-vp9", "yuv420p", "libopus"),
    ("mpeg4-mp3", ".avi", "mpeg4", "yuv420p", "libmp3lame"),
    ("ffv1-flac", ".mkv", "ffv1", "yuv420p", "flac"),
]
TIME_LIMIT = 60  # seconds a run may take on these 12-frame files
MEMORY_MIB = 1024

Mutation = Callable[[bytes, np.random.Generator], bytes]


def _truncate(data: bytes, rng: np.random.Generator) -> bytes:
    return data[: int(rng.integers(1, len(data)))]


def _flip_bits(data: bytes, rng: np.random.Generator) -> bytes:
    mutated = bytearray(data)
    for position in rng.integers(0, len(data), int(rng.integers(1, 9))):
        mutated[position] ^= 1 << int(rng.integers(0, 8))
    return bytes(mutated)


def _flip_header(data: bytes, rng: np.random.Generator) -> bytes:
    mutated = bytearray(data)
    for position in rng.integers(0, min(len(data), 512), int(rng.integers(1, 4))):
        mutated[position] ^= int(rng.integers(1, 256))
    return bytes(mutated)


def _zero_range(data: bytes, rng: np.random.Generator) -> bytes:
    start = int(rng.integers(0, len(data)))
    end = min(len(data), start + int(rng.integers(1, 4096)))
    return data[:start] + bytes(end - start) + data[end:]


def _duplicate_range(data: bytes, rng: np.random.Generator) -> bytes:
    start = int(rng.integers(0, len(data)))
    end = min(len(data), start + int(rng.integers(1, 4096)))
    return data[:end] + data[start:end] + data[end:]


MUTATIONS: dict[str, Mutation] = {
    "truncate": _truncate, "flip": _flip_bits, "header": _flip_header,
    "zero": _zero_range, "duplicate": _duplicate_range,
}


def build_seed(folder: Path, name: str, suffix: str, codec: str, pix_fmt: str,
               audio_codec: str) -> Path:
    path = folder / f"{name}{suffix}"
    with av.open(str(path), "w", options=BITEXACT) as container:
        video = container.add_stream(codec, rate=25)
        video.width, video.height, video.pix_fmt = 64, 48, pix_fmt
        audio = container.add_stream(audio_codec, rate=48000)
        audio.layout = "stereo"
        for index, rgb in enumerate(moving_frames(12, 48, 64)):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format=pix_fmt)
            frame.pts = index
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        samples = 12 * 48000 // 25
        tone = (0.2 * np.sin(np.arange(samples) / 10)).astype(np.float32)
        size = audio.codec_context.frame_size or 1024
        for first in range(0, samples - size + 1, size):
            chunk = tone[first:first + size]
            sound = av.AudioFrame.from_ndarray(np.stack([chunk, chunk]), format="fltp",
                                               layout="stereo")
            sound.sample_rate, sound.pts = 48000, first
            container.mux(audio.encode(sound))
        container.mux(audio.encode(None))
    return path


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("seeds")
    angles = folder / "angle-cover.mkv"
    write_with_angle(angles, "libx264", frames=12, cover=cover_jpeg())
    return [*(build_seed(folder, *seed) for seed in SEEDS), angles]


def _limit_memory() -> None:
    """In the child: a run that would grow past the limit fails instead of swapping."""
    limit = MEMORY_MIB * 4 * 2**20  # address space: libraries map far more than they use
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def outcome_problem(mutant: Path, out: Path) -> str | None:
    """What is wrong with a run on ``mutant``, or None when it ended as it must."""
    try:
        run = subprocess.run([sys.executable, "-m", "vidfuse", "upscale", str(mutant), "--out",
                              str(out), "--quiet"], capture_output=True, text=True,
                             timeout=TIME_LIMIT, preexec_fn=_limit_memory)
    except subprocess.TimeoutExpired:
        return f"no end within {TIME_LIMIT} s"
    errors = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    if "Traceback" in run.stderr or "unexpected" in run.stderr:
        return f"internal error: {run.stderr.strip().splitlines()[-1]}"
    if run.returncode == 0:
        try:
            with av.open(str(out)) as container:
                frames = sum(1 for _ in container.decode(video=0))
        except (av.error.FFmpegError, OSError) as exc:
            return f"exit 0 but the output does not decode: {exc}"
        return None if frames else "exit 0 but the output has no frames"
    if run.returncode not in (1, 2):
        return f"exit {run.returncode}: {run.stderr.strip()[-300:]}"
    if len(errors) != 1 or errors[0] != run.stderr.strip().splitlines()[-1]:
        return f"not one error line: {run.stderr.strip()[-300:]}"
    if out.exists():
        return "a failed run left a file at the output path"
    return None


def fuzz(seeds: list[Path], count: int, seed: int, folder: Path,
         kept: Path) -> list[str]:
    """Run ``count`` mutants (spread over the seeds and mutations); the problems found,
    each with where its mutant is kept."""
    rng = np.random.default_rng(seed)
    names = list(MUTATIONS)
    problems = []
    for number in range(count):
        source = seeds[number % len(seeds)]
        kind = names[(number // len(seeds)) % len(names)]
        mutant = folder / f"{number:04d}-{kind}-{source.name}"
        mutant.write_bytes(MUTATIONS[kind](source.read_bytes(), rng))
        out = folder / f"{number:04d}-out{'.mp4' if number % 2 else '.mkv'}"
        problem = outcome_problem(mutant, out)
        if problem is not None:
            saved = kept / mutant.name
            saved.write_bytes(mutant.read_bytes())
            problems.append(f"{saved}: {problem}")
    return problems


def test_twenty_mutants_end_cleanly(seeds: list[Path], tmp_path: Path,
                                    request: pytest.FixtureRequest) -> None:
    kept = Path(request.config.cache.mkdir("fuzz-failures"))
    problems = fuzz(seeds, 20, 2026, tmp_path, kept)
    assert not problems, "\n".join(problems)


@pytest.mark.slow
def test_three_hundred_mutants_end_cleanly(seeds: list[Path], tmp_path: Path,
                                           request: pytest.FixtureRequest) -> None:
    kept = Path(request.config.cache.mkdir("fuzz-failures"))
    problems = fuzz(seeds, 300, 1204, tmp_path, kept)
    assert not problems, "\n".join(problems)

