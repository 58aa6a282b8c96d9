"""Colour from a reference video filmed by a second camera: registration and clock sync.

    python benchmarks/reference.py [--clips ...] [--frames 97] [--every 4]

For each clip the grey input is the clip itself (its colour is what `--grey` discards) and
the reference is every N-th frame of it, encoded with libx264 (CRF 18) twice: as it is
("same camera") and as a second camera beside the first would see it ("beside": shifted 2%
across and 1% down, zoomed 2%, its luma darker and flatter, as another sensor's).

Registration: each reference frame colours the grey frame it matches through
`ReferenceKeyframes`, the code `--reference` runs, with its registration on and off.
Printed: RGB PSNR (dB) of those frames (the grey frame's own luma with the keyframe's
chroma) against the original, and the time registration adds per keyframe.

Sync (`--reference-offset auto`): the "beside" reference started 1/3 of the clip later, and
as a control, a reference of another clip (the next one listed): the offset found and how
well it matched, against the 0.8 below which `vidfuse.sync` refuses to guess.
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from pathlib import Path

import av
import cv2
import numpy as np
from datasets import clip_path
from rich.console import Console
from rich.table import Table

from vidfuse.errors import InputError
from vidfuse.evaluate import Clip
from vidfuse.keyframes import ReferenceKeyframes
from vidfuse.metrics import psnr
from vidfuse.picture import Picture
from vidfuse.sync import find_offset
from vidfuse.train.sources import CLIPS, VALIDATION_CLIPS
from vidfuse.video.colour import picture_to_frame

# (shift across, shift down: fractions of the width; zoom; luma gain, luma offset in levels)
VIEWS = {"same camera": (0.0, 0.0, 1.0, 1.0, 0.0), "beside": (0.02, 0.01, 1.02, 0.85, 12.0)}


def seen_from(picture: Picture, view: tuple[float, float, float, float, float]) -> Picture:
    across, down, zoom, gain, offset = view
    if view == VIEWS["same camera"]:
        return picture

    def move(plane: np.ndarray) -> np.ndarray:
        height, width = plane.shape
        matrix = cv2.getRotationMatrix2D((width / 2, height / 2), 0, zoom)
        matrix[:, 2] += (across * width, down * width)
        return cv2.warpAffine(plane, matrix, (width, height), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REFLECT)

    luma = move(picture.y).astype(np.float32) * gain + offset
    luma = np.clip(luma + 0.5, 0, picture.max_value).astype(picture.y.dtype)
    return Picture(luma, move(picture.u), move(picture.v), picture.bits, picture.time)


def write_reference(clip: Clip, path: Path, every: int,
                    view: tuple[float, float, float, float, float], first: int = 0) -> Path:
    """Every ``every``-th frame from ``first`` on, its clock starting there."""
    info = clip.info
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=info.frame_rate / every,
                                      options={"crf": "18"})
        stream.width, stream.height, stream.pix_fmt = info.width, info.height, "yuv420p"
        stream.time_base = stream.codec_context.time_base = 1 / info.frame_rate
        for index in range(first, len(clip.pictures), every):
            frame = picture_to_frame(seen_from(clip.pictures[index], view), info.working,
                                     info.colour).reformat(format="yuv420p")
            frame.pts = index - first
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def sync_row(grey: Path, reference: Path) -> tuple[str, str]:
    """(offset found, match) as printed; a refusal shows its best match."""
    try:
        found = find_offset(grey, reference)
    except InputError as refused:
        match = re.search(r"best match (-?[\d.]+)", str(refused))
        return "refused", match.group(1) if match else "no overlap"
    return f"{found.offset:+.3f}", f"{found.match:.2f}"


def score(clip: Clip, reference: Path, register: bool) -> tuple[float, float]:
    """Mean RGB PSNR of the keyframed frames, and seconds per keyframe."""
    keys = ReferenceKeyframes(reference, clip.info, register=register)
    scores, seconds = [], 0.0
    try:
        for index, truth in enumerate(clip.pictures):
            grey = truth.greyed()
            started = time.perf_counter()
            key = keys.keyframe_for(index, grey)
            seconds += time.perf_counter() - started
            if key is not None:
                scores.append(psnr(clip.rgb(grey.with_chroma_of(key)), clip.rgb(truth)))
    finally:
        keys.close()
    return float(np.mean(scores)), seconds / len(scores)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", nargs="+", default=list(VALIDATION_CLIPS),
                        choices=list(CLIPS))
    parser.add_argument("--frames", type=int, default=97)
    parser.add_argument("--every", type=int, default=4, help="reference rate: 1/N of the input")
    args = parser.parse_args()
    console = Console(width=120)
    sync = Table(title="--reference-offset auto: a reference started later, and one of "
                       "another clip")
    for column in ("grey clip", "reference", "true offset s", "found s", "match"):
        sync.add_column(column, justify="left" if "clip" in column or column == "reference"
                        else "right")
    table = Table(title=f"Reference at 1/{args.every} of the rate, first {args.frames} frames: "
                        "RGB PSNR (dB) of the frames it colours")
    for column in ("clip", "reference", "transplanted", "registered", "gain",
                   "registration ms/key"):
        table.add_column(column, justify="left" if column in ("clip", "reference") else "right")
    with tempfile.TemporaryDirectory() as scratch:
        later: dict[str, Path] = {}
        for name in args.clips:
            clip = Clip.load(clip_path(name), args.frames)
            first = len(clip.pictures) // 3
            later[name] = write_reference(clip, Path(scratch) / f"{name}-later.mkv",
                                          args.every, VIEWS["beside"], first)
            true = f"{first / float(clip.info.frame_rate):+.3f}"
            sync.add_row(name, f"{name}, beside, later", true,
                         *sync_row(clip_path(name), later[name]))
            for label, view in VIEWS.items():
                reference = Path(scratch) / f"{name}-{label.replace(' ', '-')}.mkv"
                write_reference(clip, reference, args.every, view)
                plain, plain_seconds = score(clip, reference, register=False)
                moved, moved_seconds = score(clip, reference, register=True)
                table.add_row(name, label, f"{plain:.2f}", f"{moved:.2f}",
                              f"{moved - plain:+.2f}",
                              f"{(moved_seconds - plain_seconds) * 1000:.0f}")
        for name, other in zip(args.clips, [*args.clips[1:], args.clips[0]], strict=True):
            if other != name:
                sync.add_row(name, f"{other}, beside, later", "none",
                             *sync_row(clip_path(name), later[other]))
    console.print(sync)
    console.print(table)


if __name__ == "__main__":
    main()

