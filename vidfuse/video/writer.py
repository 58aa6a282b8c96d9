"""Encoding: pictures become a video file (with the input's audio and subtitles) or PNG frames."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import cast

import av
import cv2
import numpy as np

from vidfuse.errors import OutputError, UsageError, ffmpeg_reason
from vidfuse.picture import Picture
from vidfuse.video.colour import (
    HDR_TRANSFERS,
    ColourInfo,
    bit_depth,
    picture_to_frame,
    picture_to_rgb,
    rescale_samples,
    with_alpha,
)
from vidfuse.video.hdr import ENCODERS as HDR_ENCODERS
from vidfuse.video.media import Attachment, SourceInfo, Warn, counted
from vidfuse.video.pipes import PIPE_FORMAT, ffmpeg_url, is_pipe
from vidfuse.video.streams import Route, route_streams

CONTAINERS = {".mp4": "mp4", ".m4v": "mp4", ".mkv": "matroska", ".mov": "mov", ".webm": "webm"}
CODECS = ("libx264", "libx265", "libsvtav1", "libvpx-vp9", "ffv1")
# On NVIDIA GPUs, through the FFmpeg inside PyAV's wheels: the GPU's video engine encodes, so
# the CPU is left to interpolation.
GPU_CODECS = ("h264_nvenc", "hevc_nvenc", "av1_nvenc")


@dataclass(frozen=True)
class _Quality:
    """How --crf reaches an encoder: its constant-quality option, default and scale."""

    option: str
    default: int
    low: int
    high: int
    extra: tuple[tuple[str, str], ...] = ()  # options that make that mode take effect


_NVENC = _Quality("cq", 21, 1, 51, (("rc", "vbr"), ("b", "0")))  # cq 0 would mean "auto"
_QUALITY = {"libx264": _Quality("crf", 18, 0, 51), "libx265": _Quality("crf", 20, 0, 51),
            "libsvtav1": _Quality("crf", 30, 1, 63),
            "libvpx-vp9": _Quality("crf", 31, 0, 63, (("b", "0"),)),
            **dict.fromkeys(GPU_CODECS, _NVENC)}
_PRESET_DEFAULT = {"libx264": "veryfast", "libx265": "fast", "libsvtav1": "8",
                   **dict.fromkeys(GPU_CODECS, "p4")}
# Where the 10-bit 4:2:0 format an encoder takes is not yuv420p10le (NVENC's is P010; 10-bit
# H.264 plays almost nowhere, so h264_nvenc stays 8-bit).
_TEN_BIT = {"hevc_nvenc": "p010le", "av1_nvenc": "p010le"}
# Encoders that write the pixel aspect ratio into the video itself. Matroska and WebM take
# it from a stream field PyAV cannot set, so with other codecs only MP4 and MOV keep it.
_ASPECT_IN_STREAM = {"libx264", "libx265", "h264_nvenc", "hevc_nvenc"}
# Encoders that keep opacity, and the format they take it in (ffv1: the working layout's).
_ALPHA_CODECS = {"libvpx-vp9", "ffv1"}
_ALPHA_FORMATS = {"libvpx-vp9": "yuva420p"}
_AV1 = ("libsvtav1", "libaom-av1", "av1_nvenc")
_HARDWARE_SUFFIXES = ("_nvenc", "_qsv", "_amf", "_vaapi", "_videotoolbox")



@dataclass(frozen=True)
class EncodeSettings:
    """How the output is encoded; validated by :func:`check_encode_settings`."""

    codec: str | None = None  # None: chosen for the container and the input (default_codec)
    crf: int | None = None
    preset: str | None = None
    pix_fmt: str | None = None
    encoder_options: dict[str, str] = field(default_factory=dict)
    keep_audio: bool = True
    # The encoder library's own progress and banner lines (x265's, SVT-AV1's) on stderr.
    encoder_logs: bool = False


    def for_output(self, container: str, colour: ColourInfo | None = None) -> EncodeSettings:
        """These settings with the codec named: the one asked for, else the default."""
        return self if self.codec else replace(self, codec=default_codec(container, colour))

    @property
    def codec_name(self) -> str:
        """The codec, once given or named by :meth:`for_output`."""
        if self.codec is None:
            raise ValueError("no codec chosen yet: call for_output first")
        return self.codec


def default_codec(container: str, colour: ColourInfo | None = None) -> str:
    """What --codec means when not given: what the container holds (WebM: VP9), and for HDR
    input 10-bit HEVC, the codec HDR10 and HLG are delivered in (10-bit H.264 plays almost
    nowhere)."""
    if container == "webm":
        return "libvpx-vp9"
    return "libx265" if colour is not None and colour.is_hdr else "libx264"


def output_kind(path: Path) -> str:
    """'video' for a known container extension or a pipe, 'frames' for an extension-less
    path."""
    if path.suffix.lower() in CONTAINERS or is_pipe(path):
        return "video"
    if path.suffix == "" or path.is_dir():
        return "frames"
    known = ", ".join(sorted(CONTAINERS))
    raise UsageError(
        f"unsupported output extension '{path.suffix}' (use {known}, or a directory for PNG frames)"
    )


def container_format(path: Path) -> str:
    """The muxer for a video output: by extension, Matroska for a pipe."""
    return PIPE_FORMAT if is_pipe(path) else CONTAINERS[path.suffix.lower()]


def check_encode_settings(settings: EncodeSettings, output: Path) -> None:
    """Fail fast on codec/container/pixel-format combinations that cannot work."""
    if output_kind(output) != "video":
        return
    container = container_format(output)
    settings = settings.for_output(container)
    name = settings.codec_name
    try:
        codec = av.codec.Codec(name, "w")
    except (av.error.FFmpegError, ValueError):
        raise UsageError(
            f"unknown codec '{name}' (try one of: {', '.join(CODECS + GPU_CODECS)})"
        ) from None
    if codec.type != "video":
        raise UsageError(f"'{name}' is not a video codec")
    if container == "webm" and name not in ("libvpx-vp9", *_AV1):
        raise UsageError(f".webm holds VP9 or AV1 only, not {name}; use .mkv")
    if container == "mov" and name in _AV1:
        raise UsageError(f".mov cannot hold AV1 ({name}); use .mp4 or .mkv")
    if container in ("mp4", "mov") and name == "ffv1":
        raise UsageError(f"{output.suffix} cannot hold ffv1; use .mkv for lossless output")
    quality = _QUALITY.get(name)
    if settings.crf is not None and quality and not quality.low <= settings.crf <= quality.high:
        raise UsageError(f"--crf must be {quality.low}-{quality.high} for {name}, "
                         f"not {settings.crf}")
    formats = {f.name for f in codec.video_formats or ()}
    if settings.pix_fmt and formats and settings.pix_fmt not in formats:
        raise UsageError(
            f"{name} cannot encode pixel format {settings.pix_fmt} "
            f"(it can: {', '.join(sorted(formats))})"
        )


def choose_pix_fmt(settings: EncodeSettings, info: SourceInfo, warn: Warn) -> str:
    """Keep the input's bit depth and chroma resolution where the codec can; refuse to crush
    HDR into 8 bits.

    The depth is the decoded input's, not the working format's: RGB is worked on at 16 bits
    so that its conversion loses nothing, but 8-bit RGB in must still give 8-bit video out.
    RGB becomes 4:2:0 (with a warning): 4:4:4 H.264 plays in almost no browser or phone.
    """
    working, colour = info.working, info.colour
    codec = settings.codec_name
    if settings.pix_fmt:
        chosen = settings.pix_fmt
    else:
        formats = [f.name for f in av.codec.Codec(codec, "w").video_formats or ()]
        if codec == "ffv1" and working.pix_fmt in formats:
            return working.pix_fmt
        deep = bit_depth(info.decoded_pix_fmt) > 8
        layout = _chroma_layout(info.decoded_pix_fmt)
        wanted = _yuv_format(codec, layout, deep)
        fallbacks = [_yuv_format(codec, "420", deep), _yuv_format(codec, layout, False)]
        chosen = next((f for f in (wanted, *fallbacks) if f in formats), "yuv420p")
        if deep and bit_depth(chosen) <= 8 and not colour.is_hdr:
            warn(f"{codec} cannot encode more than 8 bits; writing 8-bit {chosen}")
        if layout != "420" and _chroma_layout(chosen) == "420":
            warn(f"{codec} cannot encode {_LAYOUT_NAMES[layout]} chroma; writing 4:2:0, "
                 "colour at half resolution (libx264, libx265 and libvpx-vp9 keep it)")
        elif av.VideoFormat(info.decoded_pix_fmt).is_rgb:
            warn("RGB input: writing 4:2:0 video, colour at half resolution, which every "
                 "player shows; --pix-fmt yuv444p keeps every colour sample")
    if colour.is_hdr and av.VideoFormat(chosen).components[0].bits < 10:
        raise UsageError(
            f"input is HDR ({HDR_TRANSFERS[colour.transfer]}); {codec}/{chosen} would "
            "crush it to 8 bits: use --codec libx265 (or libx264/libsvtav1) with 10-bit output"
        )
    return chosen


_LAYOUT_NAMES = {"444": "4:4:4", "422": "4:2:2", "420": "4:2:0"}


def _chroma_layout(pix_fmt: str) -> str:
    """How much colour resolution a pixel format keeps: "444", "422" (half across) or "420"
    (half across and down, or less). RGB counts as "420": it is written as 4:2:0 by default;
    grey too, having no colour to keep."""
    fmt = av.VideoFormat(pix_fmt)
    grey = sum(not c.is_alpha for c in fmt.components) < 3
    if fmt.is_rgb or fmt.has_palette or grey:
        return "420"
    if fmt.chroma_width(64) == 64:
        return "444"
    return "422" if fmt.chroma_height(64) == 64 else "420"


def _yuv_format(codec: str, layout: str, deep: bool) -> str:
    if not deep:
        return f"yuv{layout}p"
    return _TEN_BIT.get(codec, "yuv420p10le") if layout == "420" else f"yuv{layout}p10le"


class VideoFileSink:
    """An encoder plus muxer; audio and subtitle packets are copied in as they are demuxed."""

    def __init__(self, path: Path, container_path: Path, settings: EncodeSettings,
                 info: SourceInfo, rate: Fraction, time_base: Fraction, warn: Warn) -> None:
        self._info = info
        self._path = path
        self._time_base = time_base
        self._last_pts: int | None = None
        self._copied_dts: float | None = None  # the last video packet copied in (a join)
        # The output's clock starts at 0 where the input's starts late or early (ffmpeg does
        # the same), the streams' offsets kept.
        self._origin = info.clock_start
        fmt = container_format(path)
        settings = settings.for_output(fmt, info.colour)
        codec = settings.codec_name
        self._alpha = info.transparent and codec in _ALPHA_CODECS and \
            fmt in ("webm", "matroska")
        if info.transparent and not self._alpha:
            warn(f"input has transparency; {codec} in {fmt} keeps none: transparent "
                 "areas show their stored colour (.webm, --codec ffv1 in .mkv, or PNG frames "
                 "keep it)")
        self._pix_fmt = choose_pix_fmt(settings, info, warn)
        if self._alpha:
            alpha_format = _ALPHA_FORMATS.get(codec) or with_alpha(self._pix_fmt)
            if _chroma_layout(alpha_format) != _chroma_layout(self._pix_fmt):
                warn(f"{codec} keeps transparency only at 4:2:0; writing {alpha_format}, "
                     "colour at half resolution")
            self._pix_fmt = alpha_format
        self._size = _encodable_size(info.width, info.height, self._pix_fmt, warn)
        try:
            self._container = av.open(ffmpeg_url(container_path, write=True), "w", format=fmt)
        except (av.error.FFmpegError, OSError) as exc:
            raise OutputError(f"cannot create {path}: {exc}") from exc
        try:
            self._container.metadata.update(info.tags)
            self._stream = self._add_video_stream(settings, rate, fmt, warn)
            self._stream.metadata.update(info.video_tags)
            self._routes: dict[int, Route] = {}  # by input stream index
            if settings.keep_audio:
                attached = {a.cover_of for a in info.attachments} if fmt == "matroska" else ()
                self._routes = route_streams(
                    self._container, fmt, [s for s in info.passthrough if s.index not in attached],
                    warn)
                self._add_attachments(fmt, info.attachments, warn)
            self._container.set_chapters([
                {"id": number, "start": round(chapter.start * 1000),
                 "end": round(chapter.end * 1000), "time_base": Fraction(1, 1000),
                 "metadata": chapter.metadata}
                for number, chapter in enumerate(info.chapters, 1)])
        except BaseException:
            self._container.close()
            raise

    def _add_video_stream(self, settings: EncodeSettings, rate: Fraction, container: str,
                          warn: Warn) -> av.VideoStream:
        codec = settings.codec_name
        options = {}
        quality = _QUALITY.get(codec)
        if quality:
            options[quality.option] = str(settings.crf if settings.crf is not None else
                                          quality.default)
            options.update(quality.extra)
        if codec in _PRESET_DEFAULT:
            options["preset"] = settings.preset or _PRESET_DEFAULT[codec]
        options.update(settings.encoder_options)
        self._carry_hdr(codec, options, warn)
        if not settings.encoder_logs:
            _keep_to_errors(codec, options)
        stream = cast(av.VideoStream, self._container.add_stream(codec, rate=rate,
                                                                 options=options))
        stream.width, stream.height = self._size
        stream.pix_fmt = self._pix_fmt
        stream.time_base = self._time_base
        stream.codec_context.time_base = self._time_base
        colour = self._info.colour
        ctx = stream.codec_context
        ctx.colorspace = colour.matrix
        ctx.color_range = int(colour.swscale_range)
        ctx.color_primaries = colour.primaries
        ctx.color_trc = colour.transfer
        if self._info.rotation:
            stream.set_display_rotation(self._info.rotation)
        aspect = self._info.pixel_aspect
        if aspect != 1:
            ctx.sample_aspect_ratio = aspect
            if container in ("matroska", "webm") and codec not in _ASPECT_IN_STREAM:
                warn(f"the {aspect.numerator}:{aspect.denominator} pixel aspect ratio is "
                     f"lost: {codec} in {container} keeps it nowhere vidfuse can "
                     "write, so players will show the picture squashed (use .mp4 or .mov, "
                     "or libx264/libx265)")
        try:  # now, not at the first frame: a bad preset or option is a usage error
            ctx.open()
        except av.error.FFmpegError as exc:
            if codec.endswith(_HARDWARE_SUFFIXES):
                raise UsageError(f"{codec} could not start ({ffmpeg_reason(exc)}): it "
                                 "encodes on a GPU and needs that GPU and its driver here; "
                                 "use a software codec such as libx264") from exc
            given = ", ".join(f"{key}={value}" for key, value in options.items())
            raise UsageError(f"{codec} refused its settings ({given}): "
                             f"{ffmpeg_reason(exc)}") from exc
        return stream

    def _carry_hdr(self, codec: str, options: dict[str, str], warn: Warn) -> None:
        """Mastering display and content light level into the encoder's bitstream, or a
        warning that they are lost."""
        hdr = self._info.hdr
        if hdr is None:
            return
        if hdr.static:
            if codec in HDR_ENCODERS:
                _merge_parameters(options, hdr.encoder_options(codec))
            else:
                warn(f"the input's HDR mastering display and light level metadata is lost: "
                     f"{codec} cannot carry it (use {' or '.join(HDR_ENCODERS)})")
        if hdr.dynamic:
            warn(f"the input's {' and '.join(hdr.dynamic)} dynamic metadata is dropped: it "
                 "describes each original frame, and the new frames have none (the static "
                 "HDR10 metadata and colour tags are kept)")

    def _add_attachments(self, fmt: str, attachments: list[Attachment], warn: Warn) -> None:
        """Only Matroska holds attachments; cover art dropped elsewhere is named with the
        streams (MP4 keeps it as one)."""
        if fmt != "matroska":
            files = [a for a in attachments if a.cover_of is None]
            if files:
                names = ", ".join(a.name for a in files)
                count = f"{len(files)} attachment" + ("s" if len(files) > 1 else "")
                warn(f"dropping {count} ({names}): only .mkv holds them; styled subtitles "
                     "may lose their fonts")
            return
        for attachment in attachments:
            self._container.add_attachment(attachment.name, attachment.mimetype,
                                           attachment.data)

    def packet(self, packet: av.Packet) -> None:
        """Copy (or re-encode) one audio/subtitle packet from the input."""
        route = self._routes.get(packet.stream.index)
        if route is not None:
            self._mux(self._on_output_clock(route.send(packet)))

    def _on_output_clock(self, packets: list[av.Packet]) -> list[av.Packet]:
        if self._origin:
            for packet in packets:
                assert packet.time_base is not None
                shift = round(self._origin / packet.time_base)
                if packet.pts is not None:
                    packet.pts -= shift
                if packet.dts is not None:
                    packet.dts -= shift
        return packets

    def _mux(self, packets: list[av.Packet]) -> None:
        # Runs on the muxing thread, but its failure surfaces where the next packet is
        # submitted, inside the decoder's loop: raised as the output's error, not the input's.
        try:
            self._container.mux(packets)
        except av.error.FFmpegError as exc:
            raise self._write_error(exc) from exc

    def _write_error(self, exc: av.error.FFmpegError) -> OutputError:
        if isinstance(exc, BrokenPipeError):  # `| head`, a player closed early
            return OutputError("the program reading the output stopped reading it")
        return OutputError(f"cannot write {self._path}: {ffmpeg_reason(exc)}")

    def write(self, picture: Picture) -> None:
        picture = _pad(picture, self._size, self._info.working.pix_fmt)
        if self._alpha != (picture.alpha is not None):
            picture = replace(picture, alpha=picture.opacity if self._alpha else None)
        frame = picture_to_frame(picture, self._info.working, self._info.colour)
        if frame.format.name != self._pix_fmt:
            matrix = self._info.colour.swscale_matrix(self._info.height)
            rng = self._info.colour.swscale_range
            frame = frame.reformat(
                format=self._pix_fmt,
                src_colorspace=matrix,
                dst_colorspace=matrix,
                src_color_range=rng,
                dst_color_range=rng,
            )
        pts = round((picture.time - self._origin) / self._time_base)
        if self._last_pts is not None and pts <= self._last_pts:
            pts = self._last_pts + 1
        self._last_pts = pts
        frame.pts = pts
        frame.time_base = self._time_base
        self._mux_video(frame)

    def _mux_video(self, frame: av.VideoFrame | None) -> None:
        try:
            packets = self._stream.encode(frame)
        except av.error.FFmpegError as exc:
            raise OutputError(f"encoding failed: {exc}") from exc
        self._mux(packets)

    def use_stream_header(self, extradata: bytes | None) -> None:
        """Take the stream header the copied packets were encoded with (`copy_video`), where
        it differs from this sink's encoder's: some encoders write their thread count in it."""
        own = self._stream.codec_context.extradata
        if own and extradata and bytes(own) != bytes(extradata):
            self._stream.codec_context.extradata = extradata

    def copy_video(self, packet: av.Packet) -> None:
        """Mux one already encoded video packet (a segment's, `vidfuse.video.join`) instead of
        encoding a picture: the encoder of this sink only gave its stream header."""
        assert packet.dts is not None and packet.time_base is not None
        dts = float(packet.dts * packet.time_base)
        if self._copied_dts is not None and dts <= self._copied_dts:
            # Two segments whose encoders reorder differently may meet with equal decode
            # times; one tick later keeps the order, and presentation times are untouched.
            packet.dts = int(self._copied_dts / packet.time_base) + 1
            dts = float(packet.dts * packet.time_base)
        self._copied_dts = dts
        packet.stream = self._stream
        self._mux([packet])

    def close(self) -> None:
        """Flush encoders and finish the file; must be called for the output to be valid."""
        if self._copied_dts is None:
            self._mux_video(None)
        for route in self._routes.values():
            self._mux(self._on_output_clock(route.flush()))
        try:
            self._container.close()
        except av.error.FFmpegError as exc:
            raise self._write_error(exc) from exc

    def abort(self) -> None:
        """Close without caring how: the output is being thrown away, perhaps because
        writing it failed (finishing it would fail the same way)."""
        with contextlib.suppress(av.error.FFmpegError, OSError):
            self._container.close()


class FrameDirectorySink:
    """Numbered PNG files at the input's depth (8 or 16 bits) in a directory; frames that are
    input images are written back as they were read."""

    def __init__(self, path: Path, directory: Path, info: SourceInfo, warn: Warn) -> None:
        if info.colour.is_hdr:
            raise UsageError(
                f"input is HDR ({HDR_TRANSFERS[info.colour.transfer]}); PNG frames cannot carry "
                "its transfer tags: write a video with --codec libx265 instead"
            )
        lost = [counted(info.passthrough)] if info.passthrough else []
        lost += [f"{len(info.chapters)} chapter(s)"] if info.chapters else []
        lost += [f"the {info.rotation}° display rotation (frames are stored unrotated)"] \
            if info.rotation else []
        if lost:
            warn(f"PNG frames keep pictures only: dropping {', '.join(lost)}")
        self._info = info
        # The input's own depth: 8-bit RGB is worked on at 16 bits, but stays 8-bit here.
        self._bits = 8 if bit_depth(info.decoded_pix_fmt) <= 8 else 16
        self._dir = directory
        self._index = 0
        try:
            directory.mkdir()
        except OSError as exc:
            raise OutputError(f"cannot create {path}: {exc.strerror}") from exc

    def packet(self, packet: av.Packet) -> None:
        """PNG frames have nowhere to put audio or subtitles."""

    def write(self, picture: Picture) -> None:
        rgb = picture.rgb
        if rgb is None:
            rgb = picture_to_rgb(picture, self._info.working, self._info.colour, self._bits)
            if self._info.transparent:  # PNG keeps opacity
                rgb = np.dstack([rgb, rescale_samples(picture.opacity, picture.bits,
                                                      self._bits)])
        self._index += 1
        target = self._dir / f"{self._index:06d}.png"
        order = cv2.COLOR_RGBA2BGRA if rgb.shape[2] == 4 else cv2.COLOR_RGB2BGR
        if not cv2.imwrite(str(target), cv2.cvtColor(rgb, order)):
            raise OutputError(f"cannot write {target}")

    def close(self) -> None:
        """Every frame is complete on disk as soon as it is written."""

    def abort(self) -> None:
        """The temporary directory is removed by the caller."""


def _merge_parameters(options: dict[str, str], extra: dict[str, str]) -> None:
    """Add ``extra``'s colon-separated encoder parameters to ``options``; a key the user
    already set keeps the user's value."""
    for option, value in extra.items():
        given = [part for part in options.get(option, "").split(":") if part]
        keys = {part.split("=")[0] for part in given}
        added = [part for part in value.split(":") if part.split("=")[0] not in keys]
        options[option] = ":".join(given + added)


def _keep_to_errors(codec: str, options: dict[str, str]) -> None:
    """Quieten the encoder libraries that print to stderr themselves, past FFmpeg's log (x265:
    about 25 lines a run), unless the user set their level."""
    if codec == "libx265":
        _merge_parameters(options, {"x265-params": "log-level=error"})
    elif codec == "libsvtav1":
        os.environ.setdefault("SVT_LOG", "1")  # read by SVT-AV1 as each encoder starts


def _encodable_size(width: int, height: int, pix_fmt: str, warn: Warn) -> tuple[int, int]:
    needs_even_w = "420" in pix_fmt or "422" in pix_fmt
    needs_even_h = "420" in pix_fmt
    new_w = width + (width % 2 if needs_even_w else 0)
    new_h = height + (height % 2 if needs_even_h else 0)
    if (new_w, new_h) != (width, height):
        warn(f"{pix_fmt} needs even dimensions: padding {width}x{height} to {new_w}x{new_h} "
             "by repeating the last column/row")
    return new_w, new_h


def _pad(picture: Picture, size: tuple[int, int], pix_fmt: str) -> Picture:
    """``picture`` grown to ``size`` by repeating its last column and row; its chroma to
    what ``pix_fmt`` has at that size (not inferred from the planes' ratio: a 4:2:0 picture
    one pixel wide has chroma as wide as its luma)."""
    width, height = size
    if (picture.width, picture.height) == (width, height):
        return picture
    fmt = av.VideoFormat(pix_fmt)

    def grow(plane: np.ndarray, h: int, w: int) -> np.ndarray:
        return np.pad(plane, ((0, h - plane.shape[0]), (0, w - plane.shape[1])), mode="edge")

    ch, cw = fmt.chroma_height(height), fmt.chroma_width(width)
    alpha = None if picture.alpha is None else grow(picture.alpha, height, width)
    return Picture(grow(picture.y, height, width), grow(picture.u, ch, cw),
                   grow(picture.v, ch, cw), picture.bits, picture.time, alpha)
