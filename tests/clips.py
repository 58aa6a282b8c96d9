"""Small real videos made on the fly with PyAV: moving textures, with audio when asked.

Set ``VIDFUSE_TESTDATA_DIR`` to keep the generated clips in one place between runs (like
PyAV's PYAV_TESTDATA_DIR); by default each test writes into its own temporary directory.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def texture(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A smooth random RGB texture (blurred noise plus gradients) bigger than the frame."""
    import cv2

    rng = np.random.default_rng(seed)
    noise = rng.random((height + 64, width + 64, 3)).astype(np.float32)
    smooth = cv2.GaussianBlur(noise, (0, 0), 3.0)
    smooth = (smooth - smooth.min()) / (smooth.max() - smooth.min())
    return (smooth * 220 + 16).astype(np.uint8)


def moving_frames(count: int, height: int, width: int, seed: int = 0,
                  step: tuple[int, int] = (2, 1)) -> list[np.ndarray]:
    """RGB frames of one texture sliding by ``step`` pixels per frame (wrapping)."""
    base = texture(height, width, seed)
    frames = []
    for i in range(count):
        dx, dy = (i * step[0]) % 64, (i * step[1]) % 64
        frames.append(np.ascontiguousarray(base[dy:dy + height, dx:dx + width]))
    return frames


def write_clip(path: Path, frames: Sequence[np.ndarray], rate: Fraction = Fraction(25),
               codec: str = "ffv1", pix_fmt: str = "yuv444p", audio_seconds: float = 0.0,
               pts: Sequence[int] | None = None, time_base: Fraction | None = None,
               full_range: bool = False, matrix: int = 1, rotation: int = 0,
               transfer: int = 1, pixel_aspect: Fraction | None = None,
               gop: int | None = None,
               chapters: Sequence[tuple[float, float, str]] = ()) -> Path:
    """Encode RGB frames (BT.709 by default) into ``path``; optionally a sine-tone AAC track."""
    from av.video.reformatter import ColorRange, Colorspace

    time_base = time_base or 1 / rate
    swscale_matrix = {1: Colorspace.ITU709, 5: Colorspace.ITU601, 6: Colorspace.ITU601}[matrix]
    swscale_range = ColorRange.JPEG if full_range else ColorRange.MPEG
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=rate)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = pix_fmt
        stream.time_base = time_base
        stream.codec_context.time_base = time_base
        ctx = stream.codec_context
        ctx.colorspace = matrix
        ctx.color_range = int(swscale_range)
        ctx.color_primaries = 1
        ctx.color_trc = transfer
        if rotation:
            stream.set_display_rotation(rotation)
        if pixel_aspect:
            ctx.sample_aspect_ratio = pixel_aspect
        if gop:
            ctx.gop_size = gop
        container.set_chapters([
            {"id": number, "start": round(start * 1000), "end": round(end * 1000),
             "time_base": Fraction(1, 1000), "metadata": {"title": title}}
            for number, (start, end, title) in enumerate(chapters, 1)])
        audio = None
        if audio_seconds:
            audio = container.add_stream("aac", rate=48000)
            audio.layout = "stereo"
        for index, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24" if rgb.dtype == np.uint8
                                               else "rgb48le")
            frame = frame.reformat(format=pix_fmt, dst_colorspace=swscale_matrix,
                                   dst_color_range=swscale_range)
            frame.colorspace = matrix
            frame.color_range = int(swscale_range)
            frame.pts = pts[index] if pts is not None else index
            frame.time_base = time_base
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
        if audio is not None:
            _write_tone(container, audio, audio_seconds)
    return path


def _write_tone(container: av.container.OutputContainer, stream: av.AudioStream,
                seconds: float) -> None:
    samples = int(seconds * 48000)
    t = np.arange(samples) / 48000
    tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    for start in range(0, samples, 1024):
        chunk = tone[start:start + 1024]
        data = np.stack([chunk, chunk])
        frame = av.AudioFrame.from_ndarray(data, format="fltp", layout="stereo")
        frame.sample_rate = 48000
        frame.pts = start
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))


def read_frames(path: Path, pix_fmt: str = "rgb24") -> list[np.ndarray]:
    """Decode every frame to RGB, honouring the stream's own matrix and range."""
    from vidfuse.video.colour import colour_of

    frames = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            colour = colour_of(frame)
            frames.append(frame.reformat(
                format=pix_fmt, src_colorspace=colour.swscale_matrix(frame.height),
                src_color_range=colour.swscale_range).to_ndarray())
    return frames


def frame_times(path: Path) -> list[float]:
    with av.open(str(path)) as container:
        return [float(f.time) for f in container.decode(video=0)]
