"""HDR10's static metadata (mastering display, content light level), read from the input's
frames and handed to the encoders that can write it.

PyAV exposes this metadata on decoded frames only (FFmpeg's own structs, as bytes) and can
attach it neither to frames nor to an output stream, so it reaches the output the way an
HEVC or AV1 encoder writes it: in the bitstream (x265's SEI, SVT-AV1's metadata OBUs), which
decoders and players read.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
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
# Encoders that write static HDR metadata, and their option for it.
ENCODERS = ("libx265", "libsvtav1")


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
        if codec == "libx265":
            parts = []
            if self.primaries and self.white and self.luminance:
                chroma = "".join(f"{name}({_units(x, 50000)},{_units(y, 50000)})" for name, (x, y)
                                 in zip("GBR", self._gbr(), strict=True))
                parts.append(f"master-display={chroma}WP({_units(self.white[0], 50000)},"
                             f"{_units(self.white[1], 50000)})L({_units(self.luminance[1], 10000)},"
                             f"{_units(self.luminance[0], 10000)})")
            if self.max_cll is not None:
                parts.append(f"max-cll={self.max_cll},{self.max_fall or 0}")
            return {"x265-params": ":".join(["hdr10=1", *parts])} if parts else {}
        if codec == "libsvtav1":
            parts = []
            if self.primaries and self.white and self.luminance:
                chroma = "".join(f"{name}({float(x):.4f},{float(y):.4f})" for name, (x, y)
                                 in zip("GBR", self._gbr(), strict=True))
                parts.append(f"mastering-display={chroma}WP({float(self.white[0]):.4f},"
                             f"{float(self.white[1]):.4f})L({float(self.luminance[1]):.4f},"
                             f"{float(self.luminance[0]):.4f})")
            if self.max_cll is not None:
                parts.append(f"content-light={self.max_cll},{self.max_fall or 0}")
            return {"svtav1-params": ":".join(parts)} if parts else {}
        return {}

    def _gbr(self) -> list[tuple[Fraction, Fraction]]:
        assert self.primaries is not None
        red, green, blue = self.primaries
        return [green, blue, red]


def side_data(frame: av.VideoFrame) -> list[SideData]:
    """A frame's side data (iterating PyAV's container yields the entries themselves)."""
    return list(cast("Iterable[SideData]", frame.side_data))


def _ratio(num: int, den: int) -> Fraction:
    return Fraction(num, den) if den else Fraction(0)


def _units(value: Fraction, per_unit: int) -> int:
    """``value`` in the integer steps x265 takes (1/50000 for chromaticity, 1/10000 cd/m²)."""
    return round(value * per_unit)
