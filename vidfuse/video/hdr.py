"""HDR10's static metadata (mastering display, content light level), read from the input's
frames and handed to the encoders that can write it.

PyAV exposes this metadata on decoded frames only (FFmpeg's own structs, as bytes) and can
attach it neither to frames nor to an output stream, so it reaches the output the way an
HEVC or AV1 encoder writes it: in the bitstream (x265's SEI, SVT-AV1's metadata OBUs), which
decoders and players read.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import cast

import av
from av.sidedata.sidedata import SideData

# AVMasteringDisplayMetadata: display_primaries[3][2] (R, G, B), white_point[2],
# min_luminance, max_luminance (AVRationals), has_primaries, has_luminance (ints).
_MASTERING = struct.Struct("<20i2i")
# AVContentLightMetadata: MaxCLL, MaxFALL (unsigned).
_LIGHT_LEVEL = struct.Struct("<2I")
# Per-frame (dynamic) HDR metadata: new frames have none of their own.
_DYNAMIC = {"DYNAMIC_HDR_PLUS": "HDR10+", "DOVI_RPU_BUFFER": "Dolby Vision",
            "DOVI_METADATA": "Dolby Vision", "DYNAMIC_HDR_VIVID": "HDR Vivid"}


@dataclass(frozen=True)
class HdrMetadata:
    """What an HDR10 stream says about the display it was graded on."""

    # (x, y) chromaticities of red, green, blue and white; None where the input has none.
    primaries: tuple[tuple[Fraction, Fraction], ...] | None = None
    white: tuple[Fraction, Fraction] | None = None
    luminance: tuple[Fraction, Fraction] | None = None  # (min, max) cd/m²
    max_cll: int | None = None  # brightest pixel, cd/m²
    max_fall: int | None = None  # brightest frame average, cd/m²
    dynamic: tuple[str, ...] = ()  # per-frame metadata formats found (cannot be carried)

    @property
    def static(self) -> bool:
        return self.primaries is not None or self.luminance is not None or \
            self.max_cll is not None

    @classmethod
    def of(cls, frame: av.VideoFrame) -> HdrMetadata | None:
        """The metadata on ``frame`` (the first of a stream), or None without any."""
        found: dict[str, object] = {}
        dynamic = []
        for side in side_data(frame):
            name = side.type.name
            if name == "MASTERING_DISPLAY_METADATA":
                values = _MASTERING.unpack(bytes(side)[:_MASTERING.size])
                ratios = [_ratio(values[i], values[i + 1]) for i in range(0, 20, 2)]
                if values[20]:
                    found["primaries"] = tuple(zip(ratios[0:6:2], ratios[1:6:2], strict=True))
                    found["white"] = (ratios[6], ratios[7])
                if values[21]:
                    found["luminance"] = (ratios[8], ratios[9])
            elif name == "CONTENT_LIGHT_LEVEL":
                found["max_cll"], found["max_fall"] = _LIGHT_LEVEL.unpack(
                    bytes(side)[:_LIGHT_LEVEL.size])
            elif name in _DYNAMIC and _DYNAMIC[name] not in dynamic:
                dynamic.append(_DYNAMIC[name])
        if not found and not dynamic:
            return None
        return cls(dynamic=tuple(dynamic), **found)  # type: ignore[arg-type]

    def describe(self) -> str:
        """One line for `vidfuse info`."""
        parts = []
        if self.luminance:
            parts.append(f"mastered at {float(self.luminance[0]):g}-{float(self.luminance[1]):g}"
                         " cd/m²")
        if self.max_cll is not None:
            parts.append(f"MaxCLL {self.max_cll}, MaxFALL {self.max_fall or 0} cd/m²")
        parts += [f"{name} dynamic metadata" for name in self.dynamic]
        return "; ".join(parts)

    def as_dict(self) -> dict[str, object]:
        """Plain JSON-ready numbers (chromaticities and luminances as floats)."""
        def plain(value: object) -> object:
            if isinstance(value, tuple):
                return [plain(v) for v in value]
            return float(value) if isinstance(value, Fraction) else value

        return {name: plain(getattr(self, name)) for name in
                ("primaries", "white", "luminance", "max_cll", "max_fall", "dynamic")}

    def encoder_options(self, codec: str) -> dict[str, str]:
        """The options that make ``codec`` write this metadata, to merge into its own
        parameter list (x265-params / svtav1-params); empty where it cannot."""
        syntax = _SYNTAX.get(codec)
        if syntax is None:
            return {}
        parts = list(syntax.always)
        if self.primaries and self.white and self.luminance:
            red, green, blue = self.primaries
            points = "".join(f"{name}({syntax.chroma(x)},{syntax.chroma(y)})" for name, (x, y)
                             in (("G", green), ("B", blue), ("R", red), ("WP", self.white)))
            low, high = self.luminance
            parts.append(f"{syntax.mastering}={points}"
                         f"L({syntax.light(high)},{syntax.light(low)})")
        if self.max_cll is not None:
            parts.append(f"{syntax.light_level}={self.max_cll},{self.max_fall or 0}")
        return {syntax.option: ":".join(parts)} if len(parts) > len(syntax.always) else {}


@dataclass(frozen=True)
class _Syntax:
    """How one encoder takes HDR10 metadata in its parameter list."""

    option: str
    mastering: str
    light_level: str
    chroma: Callable[[Fraction], str]  # a chromaticity coordinate
    light: Callable[[Fraction], str]  # a luminance in cd/m²
    always: tuple[str, ...] = ()


_SYNTAX = {
    # x265 counts chromaticity in steps of 1/50000 and luminance in 1/10000 cd/m².
    "libx265": _Syntax("x265-params", "master-display", "max-cll",
                       lambda v: str(round(v * 50000)), lambda v: str(round(v * 10000)),
                       always=("hdr10=1",)),
    "libsvtav1": _Syntax("svtav1-params", "mastering-display", "content-light",
                         lambda v: f"{float(v):.4f}", lambda v: f"{float(v):.4f}"),
}
ENCODERS = tuple(_SYNTAX)  # the encoders that write static HDR metadata


def side_data(frame: av.VideoFrame) -> list[SideData]:
    """A frame's side data (iterating PyAV's container yields the entries themselves)."""
    return list(cast("Iterable[SideData]", frame.side_data))


def _ratio(num: int, den: int) -> Fraction:
    return Fraction(num, den) if den else Fraction(0)
