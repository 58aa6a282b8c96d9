"""Decoding: a video file or a directory of images becomes a stream of :class:`Picture`.

Sources read one frame ahead (to validate the input and learn its rotation before any output
is created) and otherwise hold nothing: memory does not grow with the length of the video.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import math
import re
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import cast

import av
import cv2
import numpy as np

from vidfuse.errors import InputError, UsageError, ffmpeg_reason
from vidfuse.picture import Picture
from vidfuse.video.colour import (
    RGB_WORKING_COLOUR,
    WorkingFormat,
    bit_depth,
    colour_of,
    frame_to_picture,
    has_alpha,
    working_format_for,
)
from vidfuse.video.filters import deinterlaced
from vidfuse.video.hdr import HdrMetadata, side_data
from vidfuse.video.media import (
    Attachment,
    Chapter,
    PacketSink,
    SourceInfo,
    descriptive_tags,
    is_cover,
)
from vidfuse.video.pipes import ffmpeg_url, is_pipe
from vidfuse.video.span import WHOLE, Span

IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp"}

# File tags that describe the old encoding, not the content: the muxer writes its own.
_TECHNICAL_TAGS = {"major_brand", "minor_version", "compatible_brands", "encoder", "duration"}
# MP4 and MOV usually index their frames after them, out of reach of a pipe read once.
_PIPED_MP4 = (" (an MP4 or MOV pipes only with its index first, as ffmpeg -movflags +faststart "
              "writes it; pipe Matroska or MPEG-TS)")
# Damaged video packets in a row, before any frame decodes, that make a stream unreadable.
_UNREADABLE = 25
# After a span's last frame, audio packets up to its end may still follow (muxers interleave
# by decode time): demuxing goes on this many seconds past the end to collect them.
_INTERLEAVE = 1.0
# Frames that stop this much (or two frames) short of the length the file declares: truncated.
_TRUNCATED = 0.5
# Leading frames without timestamps read ahead to time them (beyond: timed from 0).
_UNTIMED_LEAD = 120


def main_video_stream(container: av.container.InputContainer) -> av.VideoStream | None:
    """The video to process: the first video stream that is not cover art (an "attached
    picture", which MP4 and Matroska files may list before the video itself)."""
    streams = container.streams.video
    moving = [s for s in streams if not is_cover(s)]
    candidates = moving or list(streams)
    return candidates[0] if candidates else None


# How Matroska names an attached cover picture, by codec (players look for "cover.*").
_COVER_FILES = {"mjpeg": ("jpg", "image/jpeg"), "png": ("png", "image/png"),
                "bmp": ("bmp", "image/bmp"), "webp": ("webp", "image/webp"),
                "gif": ("gif", "image/gif")}


def _codec(stream: av.stream.Stream) -> str:
    return stream.codec_context.name if stream.codec_context else "unknown codec"


def open_input(path: Path) -> av.container.InputContainer:
    """``path`` (or standard input) opened to read. A tag whose bytes are not UTF-8 (a
    damaged title or language) reads with replacement characters, as ffmpeg shows it,
    instead of failing the whole file."""
    return av.open(ffmpeg_url(path, write=False), metadata_errors="replace")


def packet_index(path: Path, span: Span = WHOLE) -> tuple[list[float], list[bool]] | None:
    """The times (on the pictures' clock, as :meth:`VideoFileSource.timed_frames` gives them
    to within a tick) and keyframe flags of the span's frames, in presentation order, from
    the container's packets alone: no decoding, so a two-hour film takes seconds. None where
    packets cannot say (a timestamp missing or repeated, as AVI's packed B-frames have)."""
    try:
        with open_input(path) as container:
            stream = main_video_stream(container)
            if stream is None or stream.time_base is None:
                return None
            tick = Fraction(stream.time_base)
            rate = float(stream.average_rate or stream.guessed_rate or 25)
            origin = float(stream.start_time * tick) if stream.start_time else 0.0
            found = [(packet.pts, packet.is_keyframe) for packet in container.demux(stream)
                     if packet.size]
    except av.error.FFmpegError:
        return None
    if any(pts is None for pts, _ in found):
        return None
    found.sort()
    if len({pts for pts, _ in found}) < len(found):
        return None
    shift = round(span.start / tick)  # as _move_back shifts a frame
    kept = [(float((pts - shift) * tick), key) for pts, key in found
            if span.whole or span.keeps(float(pts * tick) - origin, 1 / rate)]
    return [time for time, _ in kept], [key for _, key in kept]


def natural_key(name: str) -> list[object]:
    """Sort key that puts frame2 before frame10."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def open_source(
    path: Path, image_fps: Fraction | None = None, span: Span = WHOLE,
    deinterlace: bool = False, seek: float | None = None,
) -> VideoFileSource | ImageSequenceSource:
    """Open a video file, or a directory of images played at ``image_fps``; only ``span``
    of it is read, its interlaced frames deinterlaced if asked (`vidfuse.video.filters`).

    ``seek``: decode from the keyframe before this time (on the pictures' clock) instead of
    from the start; what comes before it is still given out (`vidfuse.segments` drops it).
    """
    if is_pipe(path):
        return VideoFileSource(path, span=span, deinterlace=deinterlace)
    if not path.exists():
        raise UsageError(f"input not found: {path}")
    if path.is_dir():
        return ImageSequenceSource(path, image_fps or Fraction(25), span)
    return VideoFileSource(path, span=span, deinterlace=deinterlace, seek=seek)


class VideoFileSource:
    """Any file PyAV can open with at least one video stream."""

    def __init__(self, path: Path, video_only: bool = False, span: Span = WHOLE,
                 deinterlace: bool = False, seek: float | None = None) -> None:
        """``video_only``: demux nothing but video (a colour reference's audio is not wanted).
        ``seek``: as :func:`open_source` says."""
        self._deinterlace = deinterlace
        self._seek = seek
        # Timestamps went backwards somewhere, and the rest was timed by the frame rate:
        # times then depend on everything before, so the video cannot be cut into segments.
        self.retimed = False
        self._piped = piped = is_pipe(path)
        self._name = "standard input" if piped else str(path)
        if not piped and path.stat().st_size == 0:
            raise InputError(f"input is an empty file (0 bytes): {path}")
        self._path = path
        try:
            self._container = open_input(path)
        except av.error.FFmpegError as exc:
            raise InputError(f"cannot read {self._name} as video: {ffmpeg_reason(exc)}"
                             + (_PIPED_MP4 if piped else "")) from exc
        # Said with every failure to decode a piped MP4 or MOV.
        self._hint = _PIPED_MP4 if piped and "mp4" in self._container.format.name else ""
        moving = main_video_stream(self._container)
        if moving is None:
            self._container.close()
            raise InputError(f"no video stream in {self._name}")
        self._stream = moving
        self._stream.thread_type = "AUTO"
        self._alpha_decoder = _alpha_decoder(moving)  # None: the stream's own decoder
        # Audio, subtitles, cover art and other video (angles) travel with the video: the
        # output keeps or names them.
        self._passthrough = [] if video_only else [
            s for s in self._container.streams
            if s.type in ("audio", "subtitle") or (s.type == "video" and s is not moving)
        ]
        self._started: set[int] = set()  # other video streams copied from a keyframe on
        self._packets_to: PacketSink | None = None
        self.damaged = 0  # video packets that could not be decoded, skipped
        self._decoded = False
        self._last_time: float | None = None  # of the last frame decoded
        # Packets demuxed before a sink is routed (while peeking at the first frame).
        self._early_packets: list[av.Packet] = []
        rate = self._stream.average_rate or self._stream.guessed_rate or Fraction(25)
        self._span = span
        # Where the video's clock starts: spans and chapters count from here.
        start = self._stream.start_time
        self._tick = Fraction(self._stream.time_base or Fraction(1, 1000))  # demuxers set it
        self._origin = float(start * self._tick) if start else 0.0
        self._frames = self._decode(float(rate))
        try:
            first = next(self._frames)
        except StopIteration:
            self._container.close()
            if not span.whole:
                raise InputError(f"no frames in {self._name} from --start {span.start:g} s "
                                 "(the video is shorter)") from None
            raise InputError(f"no decodable video frames in {self._name}{self._hint}") from None
        # Frames without timestamps before the first with one (Matroska gives none to frames
        # before 0, where its clock starts negative) are timed back from it, a frame apart,
        # as ffmpeg's best-effort timestamps are: read ahead to it, a bounded number.
        self._lead = [first]
        while self._lead[-1].time is None and len(self._lead) < _UNTIMED_LEAD:
            following = next(self._frames, None)
            if following is None:
                break
            self._lead.append(following)
        self._untimed_lead = sum(frame.time is None for frame in self._lead)
        timed = self._lead[-1].time
        start_time = 0.0 if timed is None else timed - self._untimed_lead / rate
        ctx = self._stream.codec_context
        colour = colour_of(first)
        if colour.matrix == 2 and int(ctx.colorspace) != 2:
            colour = colour_of(ctx)
        working = working_format_for(first.format.name)
        if first.format.is_rgb or first.format.has_palette:
            colour = RGB_WORKING_COLOUR
        duration = (
            float(self._stream.duration * self._tick)
            if self._stream.duration
            else (self._container.duration / 1e6 if self._container.duration else None)
        )
        count = self._stream.frames or (round(duration * rate) if duration else None)
        if not span.whole:
            duration = min(duration - span.start if duration else math.inf, span.end - span.start)
            count = round(duration * rate) if math.isfinite(duration) else None
            duration = duration if math.isfinite(duration) else None
        self.info = SourceInfo(
            path=path,
            width=first.width,
            height=first.height,
            frame_rate=Fraction(rate),
            frame_count=count,
            duration=duration,
            colour=colour,
            working=working,
            decoded_pix_fmt=first.format.name,
            time_base=Fraction(self._stream.time_base or 1 / rate),
            start_time=start_time,
            # A span keeps nothing from before its start, which is moved back to the origin.
            clock_start=(min(start_time, self._container.start_time / 1e6)
                         if span.whole and self._container.start_time is not None
                         else min(start_time, self._origin)),
            rotation=int(first.rotation or 0),
            hdr=HdrMetadata.of(first),
            icc_profile=any(s.type.name == "ICC_PROFILE" for s in side_data(first)),
            transparent=_transparent(first),
            # The container's word first, as players take it (AV1 streams say 1:1 inside).
            pixel_aspect=Fraction(self._stream.sample_aspect_ratio or ctx.sample_aspect_ratio
                                  or 1),
            interlaced=bool(first.interlaced_frame),
            tags={k: v for k, v in self._container.metadata.items()
                  if k.lower() not in _TECHNICAL_TAGS},
            video_tags=descriptive_tags(self._stream.metadata),
            passthrough=self._passthrough,
            attachments=[] if video_only else [
                *(Attachment(s.name or "attachment", s.mimetype or "application/octet-stream",
                             bytes(s.data))
                  for s in self._container.streams.attachments),
                *self._cover_art()],
            chapters=[] if video_only else self._chapters(),
        )

    def _cover_art(self) -> list[Attachment]:
        """Each cover picture as the file Matroska would attach (its demuxer lists such a file
        as cover art, so it goes back the same way): demuxers give cover art first, so it
        is among the packets read on the way to the first frame."""
        found: dict[int, Attachment] = {}
        for packet in self._early_packets:
            stream = packet.stream
            if is_cover(stream) and packet.size and stream.index not in found:
                codec = _codec(stream)
                suffix, mimetype = _COVER_FILES.get(codec, (codec, f"image/{codec}"))
                found[stream.index] = Attachment(
                    stream.metadata.get("filename") or f"cover.{suffix}",
                    stream.metadata.get("mimetype") or mimetype, bytes(packet),
                    cover_of=stream.index)
        return list(found.values())

    def _chapters(self) -> list[Chapter]:
        """The file's chapters that overlap the span, cut to it and on the output's clock."""
        span, origin = self._span, self._origin
        found = []
        for chapter in self._container.chapters():
            time_base = Fraction(chapter["time_base"] or 1)
            start, end = float(chapter["start"] * time_base), float(chapter["end"] * time_base)
            if not span.whole:
                start, end = max(start, origin + span.start), min(end, origin + span.end)
            if end > start:
                found.append(Chapter(start - span.start, end - span.start,
                                     dict(chapter["metadata"])))
        return found

    def route_packets(self, sink: PacketSink) -> None:
        """Send audio/subtitle packets to ``sink`` while video is decoded (one demux pass)."""
        self._packets_to = sink
        for packet in self._early_packets:
            sink(packet)
        self._early_packets.clear()

    def _decode(self, rate: float) -> Iterator[av.VideoFrame]:
        """Decoded frames of the span, audio and subtitle packets routed on the way (one
        demux pass). A span seeks to the keyframe before its start; frames and packets outside
        it are dropped, and the rest moved back by its start."""
        span, stream, origin = self._span, self._stream, self._origin
        trim = not span.whole
        # Where to seek, on the stream's clock: a span counts from the first frame, a segment's
        # ``seek`` is on the pictures' clock (the stream's, moved back by the span's start).
        target = origin + span.start if self._seek is None else self._seek + span.start
        # A pipe is not seeked: within what the demuxer has buffered a seek can land anywhere.
        if target > origin and not self._piped:
            try:
                self._container.seek(round(target / self._tick), stream=stream,
                                     backward=True)
            except av.error.FFmpegError:
                # Not seekable (a raw stream), or no keyframe indexed before the target (a
                # Matroska file whose first keyframe has no timestamp): a failed seek can
                # leave the demuxer at the end, so decode from the top, which gets there too.
                stream = self._reopened()
        ended = timed_yet = False
        untimed_ahead = 0
        try:
            for packet in self._container.demux([stream, *self._passthrough]):
                time = _seconds(packet.pts, packet.time_base)
                if ended and time is not None and time - origin >= span.end + _INTERLEAVE:
                    return
                if packet.stream is not stream:
                    if not self._copied(packet, time):
                        continue
                    if self._packets_to is None:
                        self._early_packets.append(packet)
                    else:
                        self._packets_to(packet)
                    continue
                if ended:
                    continue
                try:
                    frames = cast(list[av.VideoFrame],
                                  self._alpha_decoder.decode(packet) if self._alpha_decoder
                                  else packet.decode())
                except av.error.InvalidDataError:
                    # One damaged packet loses its frame, not the video (as in ffmpeg); a
                    # stream that never decodes is not video this can read.
                    self.damaged += 1
                    if self.damaged >= _UNREADABLE and not self._decoded:
                        raise
                    continue
                self._decoded = self._decoded or bool(frames)
                for frame in frames:
                    if trim:
                        if frame.time is None:
                            # Untimed frames ahead of the first timed one lie before the
                            # stream's start, which spans count from (see __init__).
                            untimed_ahead += 1
                            if not timed_yet and untimed_ahead < _UNTIMED_LEAD:
                                continue
                            raise InputError(f"{self._name} has frames without timestamps: --start "
                                             "and --duration cannot find their place in it")
                        timed_yet = True
                        if not span.keeps(frame.time - origin, 1 / rate):
                            if frame.time - origin < span.start:
                                continue  # decoded from the keyframe before the start
                            ended = True
                            break
                        _move_back(frame, span.start)
                    yield frame
        except av.error.FFmpegError as exc:
            raise InputError(f"cannot decode {self._name}: {ffmpeg_reason(exc)}{self._hint}"
                             ) from exc

    def _reopened(self) -> av.VideoStream:
        """The file opened again, read from its start: its video stream."""
        video, others = self._stream.index, [s.index for s in self._passthrough]
        self._container.close()
        self._container = open_input(self._path)
        by_index = {s.index: s for s in self._container.streams}
        self._stream = cast(av.VideoStream, by_index[video])
        self._stream.thread_type = "AUTO"
        self._passthrough = [by_index[index] for index in others]
        return self._stream

    def _copied(self, packet: av.Packet, time: float | None) -> bool:
        """Whether an audio, subtitle, cover-art or other video packet belongs in the
        output; moved onto the span's clock if it does."""
        span, stream = self._span, packet.stream
        if is_cover(stream):
            return packet.size > 0  # one untimed picture for the whole file, whatever the span
        video = stream.type == "video"
        # Demuxer flush packets carry no data; Matroska's video packets carry no decoding time.
        if packet.size == 0 or (packet.dts is None and not video):
            return False
        if not span.whole and (time is None or not span.start <= time - self._origin
                               < span.end):
            return False
        if video:  # another angle: copied from a keyframe on, which a span may wait for
            if time is None or (stream.index not in self._started and not packet.is_keyframe):
                return False
            self._started.add(stream.index)
        if not span.whole:
            _move_back(packet, span.start)
        return True

    def copied_packets(self) -> Iterator[av.Packet]:
        """The audio and subtitle packets of the span, in file order, without decoding any
        more video: what a single pass would copy, for joining segments
        (`vidfuse.video.join`). Use instead of :meth:`pictures`, never with it."""
        span = self._span
        yield from self._early_packets  # demuxed while the first frame was read
        self._early_packets.clear()
        if not self._passthrough:
            return
        try:
            for packet in self._container.demux(self._passthrough):
                time = _seconds(packet.pts, packet.time_base)
                if time is not None and time - self._origin >= span.end + _INTERLEAVE:
                    return
                if self._copied(packet, time):
                    yield packet
        except av.error.FFmpegError as exc:
            raise InputError(f"cannot read {self._name}: {ffmpeg_reason(exc)}") from exc

    def pictures(self) -> Iterator[Picture]:
        """Decoded frames in presentation order, converted to the working format."""
        info = self.info
        for frame, time in self.timed_frames():
            yield frame_to_picture(frame, info.working, info.colour, time, info.transparent)

    def timed_frames(self) -> Iterator[tuple[av.VideoFrame, float]]:
        """Decoded frames in presentation order with their times in seconds.

        Timestamps are trusted while they increase. Once one goes backwards (AVI files with
        packed B-frames report decode order) the rest of the stream is timed by the nominal
        frame rate from where it broke, which is what players do with such files. A time
        within one tick of the time base of the nominal frame grid is put on the grid: that
        much is the container's rounding (Matroska keeps whole milliseconds), and keeping it
        would make a constant-rate output uneven.
        """
        info = self.info
        step = 1.0 / float(info.frame_rate)
        tick = float(info.time_base)
        snap = tick < step / 4
        last_time: float | None = None
        nominal_from: tuple[int, float] | None = None  # (index, time) where timing broke
        lead, self._lead = self._lead, []
        frames: Iterator[av.VideoFrame] = itertools.chain(lead, self._frames)
        if self._deinterlace:
            frames = deinterlaced(frames)
        for index, frame in enumerate(frames):
            time = frame.time
            if time is None and (index < self._untimed_lead or last_time is None):
                time = info.start_time + index * step  # timed back from the first timestamp
            elif nominal_from is None and last_time is not None and (
                time is None or time <= last_time
            ):
                nominal_from = (index - 1, last_time)
                self.retimed = True
            if nominal_from is not None:
                time = nominal_from[1] + (index - nominal_from[0]) * step
            elif snap:
                grid = info.start_time + round((time - info.start_time) / step) * step
                time = grid if abs(time - grid) <= tick else time
            last_time = self._last_time = time
            yield frame, time

    def ends_early(self) -> float | None:
        """Where the frames stopped, in seconds from the first, when that is well short of
        the video's declared length (a truncated file); None when they reached it, or where
        nothing declares a length."""
        declared = _declared_end(self._stream, self._container)
        if declared is None or self._last_time is None or not self._span.whole:
            return None
        step = 1.0 / float(self.info.frame_rate)
        end = self._last_time + step
        return (end - self.info.start_time
                if end < declared - max(_TRUNCATED, 2 * step) else None)

    def close(self) -> None:
        self._container.close()

    def __enter__(self) -> VideoFileSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _declared_end(stream: av.VideoStream,
                  container: av.container.InputContainer) -> float | None:
    """When the video ends on its own clock, as the file states it: from the stream's own
    length (MP4's track header; Matroska's DURATION tag, written last), else the
    container's (Matroska's segment duration, written first: what a truncated file still
    has). Matroska counts its lengths from 0, other containers from their first packet."""
    from_zero = "matroska" in container.format.name
    start = 0.0 if from_zero else float((stream.start_time or 0) * (stream.time_base or 0))
    if stream.duration and stream.time_base:
        return start + float(stream.duration * stream.time_base)
    tag = stream.metadata.get("DURATION") or stream.metadata.get("duration")
    if tag:
        with contextlib.suppress(ValueError):
            hours, minutes, seconds = tag.split(":")
            return start + int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    if container.duration is None:
        return None
    first = 0.0 if from_zero else (container.start_time or 0) / 1e6
    return first + container.duration / 1e6


class ImageSequenceSource:
    """A directory of still images in natural order, played at a fixed rate."""

    def __init__(self, path: Path, fps: Fraction, span: Span = WHOLE) -> None:
        files = sorted(
            (p for p in path.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()),
            key=lambda p: natural_key(p.name),
        )
        if not files:
            exts = ", ".join(sorted(IMAGE_EXTENSIONS))
            raise UsageError(f"no images ({exts}) in directory {path}")
        files = [f for i, f in enumerate(files) if span.keeps(i / float(fps), 1 / float(fps))]
        if not files:
            raise InputError(f"no images in {path} from --start {span.start:g} s (at "
                             f"{float(fps):g} images a second the sequence is shorter)")
        self._files = files
        stored = cv2.imread(str(files[0]), cv2.IMREAD_UNCHANGED)
        # Opacity is carried only where some pixel is not opaque.
        self._alpha = (stored is not None and stored.ndim == 3 and stored.shape[2] == 4
                       and int(stored[..., 3].min()) < (65535 if stored.dtype == np.uint16
                                                        else 255))
        first = self._load(files[0], self._alpha)
        self._first: np.ndarray | None = first  # handed to pictures(), not read again
        self._size = first.shape[:2]
        self._bits = 16 if first.dtype == np.uint16 else 8
        working = WorkingFormat("yuv444p16le", 16)
        self.info = SourceInfo(
            path=path,
            width=first.shape[1],
            height=first.shape[0],
            frame_rate=fps,
            frame_count=len(files),
            duration=len(files) / float(fps),
            colour=RGB_WORKING_COLOUR,
            working=working,
            decoded_pix_fmt=("rgba64le" if self._alpha else "rgb48le") if self._bits == 16
            else ("rgba" if self._alpha else "rgb24"),
            time_base=1 / fps,
            transparent=self._alpha,
            icc_profile=_has_icc_profile(files[0]),
        )

    damaged = 0  # an image that cannot be read is an error, not skipped
    retimed = False  # images are timed by their count from the start

    def ends_early(self) -> float | None:
        """A folder declares no length to fall short of."""
        return None

    def route_packets(self, sink: PacketSink) -> None:
        """Image sequences carry no audio or subtitles."""

    @staticmethod
    def _load(file: Path, alpha: bool) -> np.ndarray:
        """RGB, or RGBA with ``alpha`` (an image without it made opaque)."""
        flags = cv2.IMREAD_UNCHANGED if alpha else cv2.IMREAD_ANYDEPTH | cv2.IMREAD_COLOR_RGB
        image = cv2.imread(str(file), flags)
        if image is None:
            raise InputError(f"cannot read image {file}")
        if image.dtype not in (np.uint8, np.uint16):
            raise InputError(f"unsupported sample type {image.dtype} in {file}")
        if alpha:
            channels = 1 if image.ndim == 2 else image.shape[2]
            image = cv2.cvtColor(image, {1: cv2.COLOR_GRAY2RGBA, 3: cv2.COLOR_BGR2RGBA,
                                         4: cv2.COLOR_BGRA2RGBA}[channels])
        return image

    def pictures(self) -> Iterator[Picture]:
        step = 1.0 / float(self.info.frame_rate)
        fmt = ("rgba64le" if self._alpha else "rgb48le") if self._bits == 16 \
            else ("rgba" if self._alpha else "rgb24")
        for index, file in enumerate(self._files):
            image = (self._first if index == 0 and self._first is not None
                     else self._load(file, self._alpha))
            self._first = None
            if image.shape[:2] != self._size or (image.dtype == np.uint16) != (self._bits == 16):
                raise InputError(
                    f"{file.name} is {image.shape[1]}x{image.shape[0]} {image.dtype}, but the "
                    f"sequence started at {self._size[1]}x{self._size[0]}"
                )
            image = np.ascontiguousarray(image)
            frame = av.VideoFrame.from_ndarray(image, format=fmt)
            picture = frame_to_picture(frame, self.info.working, self.info.colour, index * step,
                                       self._alpha)
            yield dataclasses.replace(picture, rgb=image)

    def close(self) -> None:
        """Nothing is held open between images."""

    def __enter__(self) -> ImageSequenceSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# How PNG, JPEG and WebP files mark an embedded ICC profile, all before the pixels.
_ICC_MARKERS = (b"iCCP", b"ICC_PROFILE\x00", b"ICCP")


def _has_icc_profile(image: Path) -> bool:
    with image.open("rb") as file:
        head = file.read(1 << 16)
    return any(marker in head for marker in _ICC_MARKERS)


def _alpha_decoder(stream: av.VideoStream) -> av.VideoCodecContext | None:
    """libvpx's decoder for VP8/VP9 with alpha: FFmpeg's own ignores the alpha that WebM
    stores beside each frame."""
    if stream.metadata.get("alpha_mode", "0") == "0":
        return None
    name = {"vp8": "libvpx", "vp9": "libvpx-vp9"}.get(stream.codec_context.codec.canonical_name)
    if name is None:
        return None
    try:
        decoder = av.CodecContext.create(name, "r")
    except (av.error.FFmpegError, ValueError):
        return None  # the stream's own decoder, and the warning that alpha is lost
    decoder.thread_type = "AUTO"
    return decoder  # type: ignore[return-value]


def _transparent(frame: av.VideoFrame) -> bool:
    """Whether any pixel of ``frame`` lets the background through (an opaque GIF decodes to
    a format with alpha, every pixel at full opacity)."""
    if not has_alpha(frame.format.name):
        return False
    deep = bit_depth(frame.format.name) > 8
    rgba = frame.to_ndarray(format="rgba64le" if deep else "rgba")
    return int(rgba[..., 3].min()) < (65535 if deep else 255)


def _seconds(pts: int | None, time_base: Fraction | None) -> float | None:
    return None if pts is None or time_base is None else float(pts * time_base)


def _move_back(item: av.Packet | av.VideoFrame, seconds: float) -> None:
    """Shift a packet's or frame's timestamps ``seconds`` earlier, in its own time base."""
    if seconds == 0 or item.time_base is None:
        return
    ticks = round(seconds / item.time_base)
    if item.pts is not None:
        item.pts -= ticks
    if isinstance(item, av.Packet) and item.dts is not None:
        item.dts -= ticks
