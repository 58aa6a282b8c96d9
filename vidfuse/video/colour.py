"""Colour metadata and the conversions between decoded frames and :class:`Picture` planes.

Every YUV<->RGB conversion in vidfuse goes through here and names the source's own matrix and
range: swscale's defaults are "unspecified", which is where the colour shifts users of other
interpolators report come from.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

import av
import numpy as np
from av.video.codeccontext import VideoCodecContext
from av.video.reformatter import ColorRange, Colorspace

from vidfuse.picture import Picture

# AVColorSpace codes (as frames and streams report them) -> swscale matrices.
_MATRIX_BY_CODE = {
    1: Colorspace.ITU709,
    4: Colorspace.FCC,
    5: Colorspace.ITU601,
    6: Colorspace.ITU601,
    7: Colorspace.SMPTE240M,
    9: Colorspace.BT2020,
    10: Colorspace.BT2020,
}
_MATRIX_NAMES = {1: "bt709", 4: "fcc", 5: "bt470bg", 6: "smpte170m", 7: "smpte240m", 9: "bt2020nc",
                 10: "bt2020c"}
_PRIMARIES_NAMES = {1: "bt709", 4: "bt470m", 5: "bt470bg", 6: "smpte170m", 7: "smpte240m",
                    8: "film", 9: "bt2020", 11: "smpte431", 12: "smpte432"}
_TRC_NAMES = {1: "bt709", 4: "gamma22", 5: "gamma28", 6: "smpte170m", 7: "smpte240m", 8: "linear",
              13: "iec61966-2-1", 14: "bt2020-10", 15: "bt2020-12", 16: "smpte2084",
              18: "arib-std-b67"}
HDR_TRANSFERS = {16: "PQ (SMPTE 2084)", 18: "HLG (ARIB STD-B67)"}
UNSPECIFIED = 2

_PLANAR_YUV = re.compile(r"^yuv(4[0-4][0-4])p(\d+)?(le)?$")


@dataclass(frozen=True)
class ColourInfo:
    """How a stream's YUV code values map to colour: AVColorSpace/Range/Primaries/TRC codes."""

    matrix: int = UNSPECIFIED
    full_range: bool = False
    primaries: int = UNSPECIFIED
    transfer: int = UNSPECIFIED

    @property
    def is_hdr(self) -> bool:
        return self.transfer in HDR_TRANSFERS

    def swscale_matrix(self, height: int) -> Colorspace:
        """The matrix to convert with; untagged video follows FFmpeg's SD/HD convention."""
        if self.matrix in _MATRIX_BY_CODE:
            return _MATRIX_BY_CODE[self.matrix]
        return Colorspace.ITU709 if height >= 720 else Colorspace.ITU601

    @property
    def swscale_range(self) -> ColorRange:
        return ColorRange.JPEG if self.full_range else ColorRange.MPEG

    def describe(self) -> str:
        def name(table: dict[int, str], code: int) -> str:
            return table.get(code, "unspecified" if code == UNSPECIFIED else f"code {code}")

        return (
            f"{'full' if self.full_range else 'limited'} range, "
            f"matrix {name(_MATRIX_NAMES, self.matrix)}, "
            f"primaries {name(_PRIMARIES_NAMES, self.primaries)}, "
            f"transfer {name(_TRC_NAMES, self.transfer)}"
        )


# sRGB images are converted once into this YUV space: BT.709, full range, 16 bit, 4:4:4,
# so the round trip back to RGB is exact to within one code value.
RGB_WORKING_COLOUR = ColourInfo(matrix=1, full_range=True, primaries=1, transfer=13)


@dataclass(frozen=True)
class WorkingFormat:
    """The planar YUV layout frames are processed in: chosen once per input."""

    pix_fmt: str
    bits: int

    @property
    def dtype(self) -> type[np.generic]:
        return np.uint8 if self.bits <= 8 else np.uint16

    @property
    def chroma_subsampled(self) -> bool:
        return not self.pix_fmt.startswith("yuv444")


def bit_depth(pix_fmt: str) -> int:
    """Bits per sample of a pixel format (of its deepest component)."""
    return max(c.bits for c in av.VideoFormat(pix_fmt).components)


def has_alpha(pix_fmt: str) -> bool:
    """Whether a pixel format carries transparency (which the output cannot keep)."""
    return any(c.is_alpha for c in av.VideoFormat(pix_fmt).components)


def working_format_for(pix_fmt: str) -> WorkingFormat:
    """Keep planar YUV as decoded; convert everything else to the nearest planar YUV layout."""
    name = pix_fmt.replace("yuvj", "yuv")
    match = _PLANAR_YUV.match(name)
    fmt = av.VideoFormat(pix_fmt)
    bits = bit_depth(pix_fmt)
    if match and not fmt.is_big_endian:
        return WorkingFormat(name, bits)
    if fmt.is_rgb or fmt.has_palette:
        return WorkingFormat("yuv444p16le", 16)
    depth = "" if bits <= 8 else ("10le" if bits <= 10 else "16le")
    # How the chroma of a 64-pixel square is stored: subsampled across, down, or neither.
    grey = "gray" in pix_fmt
    layout = "444"
    if fmt.chroma_width(64) != 64 or grey:
        layout = "420" if (fmt.chroma_height(64) != 64 or grey) else "422"
    return WorkingFormat(f"yuv{layout}p{depth}", 8 if not depth else (10 if bits <= 10 else 16))


def colour_of(frame_or_ctx: av.VideoFrame | VideoCodecContext) -> ColourInfo:
    """Read the four colour tags; yuvj* formats imply full range even when untagged."""
    obj = frame_or_ctx
    fmt_name = obj.format.name if obj.format is not None else ""
    full = int(obj.color_range) == int(ColorRange.JPEG) or fmt_name.startswith("yuvj")
    return ColourInfo(
        matrix=int(obj.colorspace),
        full_range=full,
        primaries=int(obj.color_primaries),
        transfer=int(obj.color_trc),
    )


def frame_to_picture(
    frame: av.VideoFrame, fmt: WorkingFormat, colour: ColourInfo, time: float,
    keep_alpha: bool = False,
) -> Picture:
    """Decoded frame -> planes in the working format, converting with explicit colour tags;
    with ``keep_alpha``, its opacity too (at the working depth)."""
    alpha = alpha_plane(frame, fmt) if keep_alpha else None
    # yuvj* differs from yuv* only in its implied range, which `colour` already carries.
    if frame.format.name.replace("yuvj", "yuv") != fmt.pix_fmt:
        src = colour_of(frame)
        if frame.format.is_rgb or frame.format.has_palette:
            frame = frame.reformat(
                format=fmt.pix_fmt,
                dst_colorspace=colour.swscale_matrix(frame.height),
                dst_color_range=colour.swscale_range,
            )
        else:
            matrix = colour.swscale_matrix(frame.height)
            frame = frame.reformat(
                format=fmt.pix_fmt,
                src_colorspace=matrix,
                dst_colorspace=matrix,
                src_color_range=src.swscale_range,
                dst_color_range=colour.swscale_range,
            )
    planes = [_plane_array(frame, i, fmt.dtype).copy() for i in range(3)]
    return Picture(planes[0], planes[1], planes[2], fmt.bits, time, alpha)


def alpha_plane(frame: av.VideoFrame, fmt: WorkingFormat) -> np.ndarray | None:
    """A frame's opacity as a full-size plane at the working depth; None without alpha."""
    if not has_alpha(frame.format.name):
        return None
    source_bits = bit_depth(frame.format.name)
    if _PLANAR_YUV.match(frame.format.name.replace("yuva", "yuv").replace("yuvj", "yuv")):
        plane = _plane_array(frame, 3, np.uint8 if source_bits <= 8 else np.uint16)
    else:  # packed RGBA and the like: through swscale, which keeps alpha as it is
        deep = source_bits > 8
        plane = frame.to_ndarray(format="rgba64le" if deep else "rgba")[..., 3]
        source_bits = 16 if deep else 8
    return rescale_samples(plane, source_bits, fmt.bits)


def rescale_samples(plane: np.ndarray, bits: int, to_bits: int) -> np.ndarray:
    """Full-range samples (alpha) from one bit depth to another, exact where it can be."""
    if bits == to_bits:
        return np.ascontiguousarray(plane)
    peak, to_peak = (1 << bits) - 1, (1 << to_bits) - 1
    scaled = (plane.astype(np.uint32) * to_peak + peak // 2) // peak
    return scaled.astype(np.uint8 if to_bits <= 8 else np.uint16)


def with_alpha(pix_fmt: str) -> str:
    """The planar YUV format with an alpha plane beside ``pix_fmt``'s (yuv420p: yuva420p)."""
    return pix_fmt.replace("yuv", "yuva", 1)


def conform_frame(frame: av.VideoFrame, source: ColourInfo, fmt: WorkingFormat,
                  colour: ColourInfo, width: int, height: int, time: float) -> Picture:
    """A frame of another stream (a colour reference, a keyframe image) -> planes that match
    the main input: its size, working format, matrix and range, converted in one swscale pass."""
    # RGB has no matrix or range to convert from.
    rgb = frame.format.is_rgb or frame.format.has_palette
    frame = frame.reformat(
        format=fmt.pix_fmt, width=width, height=height,
        src_colorspace=None if rgb else source.swscale_matrix(frame.height),
        src_color_range=None if rgb else source.swscale_range,
        dst_colorspace=colour.swscale_matrix(height), dst_color_range=colour.swscale_range,
        interpolation="AREA" if frame.width > width else "BICUBIC")
    planes = [_plane_array(frame, i, fmt.dtype).copy() for i in range(3)]
    return Picture(planes[0], planes[1], planes[2], fmt.bits, time)


def picture_to_frame(picture: Picture, fmt: WorkingFormat, colour: ColourInfo) -> av.VideoFrame:
    """Planes -> a tagged VideoFrame in the working format (with an alpha plane where the
    picture has one), ready to encode or reformat."""
    planes = [picture.y, picture.u, picture.v]
    if picture.alpha is not None:
        planes.append(picture.alpha)
    frame = av.VideoFrame(picture.width, picture.height,
                          fmt.pix_fmt if picture.alpha is None else with_alpha(fmt.pix_fmt))
    for index, plane in enumerate(planes):
        _plane_array(frame, index, fmt.dtype)[...] = plane
    frame.colorspace = colour.matrix if colour.matrix != UNSPECIFIED else UNSPECIFIED
    frame.color_range = int(colour.swscale_range)
    frame.color_primaries = colour.primaries
    frame.color_trc = colour.transfer
    return frame


def _plane_array(frame: av.VideoFrame, index: int, dtype: type[np.generic]) -> np.ndarray:
    """A writable (height, width) view of one plane, without its line padding."""
    plane = frame.planes[index]
    itemsize = np.dtype(dtype).itemsize
    rows = np.frombuffer(memoryview(plane), dtype=dtype).reshape(plane.height,
                                                                plane.line_size // itemsize)
    return rows[:, : plane.width]


def picture_to_rgb(picture: Picture, fmt: WorkingFormat, colour: ColourInfo,
                   bits: int = 8) -> np.ndarray:
    """Planes in the working format -> RGB (8 or 16 bit) as the colour tags say; opacity,
    where the picture has any, is left out."""
    opaque = picture if picture.alpha is None else dataclasses.replace(picture, alpha=None)
    return to_rgb(picture_to_frame(opaque, fmt, colour), colour, bits)


def to_rgb(frame: av.VideoFrame, colour: ColourInfo, bits: int) -> np.ndarray:
    """A tagged working frame -> RGB (8 or 16 bit), honouring its matrix and range."""
    return frame.reformat(
        format="rgb24" if bits <= 8 else "rgb48le",
        src_colorspace=colour.swscale_matrix(frame.height),
        src_color_range=colour.swscale_range,
    ).to_ndarray()
