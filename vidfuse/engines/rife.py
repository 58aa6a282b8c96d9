"""RIFE 4.0 as an engine: its network measures the motion, vidfuse draws the picture.

Per instant, RIFE's IFNet (`vidfuse.nets.rife`) estimates, on an RGB view of the pair, the
flows from that instant back to each frame and the mask that blends them: RIFE 4.0's own
output is exactly those two warped frames mixed by that mask. `vidfuse.render` applies the
same flows and mask to the pictures' own planes instead, so the output keeps the input's
bit depth, chroma layout and opacity, as `flow`'s does. Frames wider than 2048 pixels are
measured at half size, as RIFE's own 4K mode does. Its weights are downloaded once:
`vidfuse weights download rife-4.0`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from vidfuse.errors import UsageError
from vidfuse.nets.rife import ALIGN, IFNet, load_ifnet
from vidfuse.picture import Picture
from vidfuse.render import WarpRenderer

WEIGHTS = "rife-4.0"
# Wider frames are measured at half size (RIFE's scale 0.5, its advice for 4K).
_HALF_ABOVE = 2048


@dataclass(frozen=True)
class RifePair:
    """Both frames as RGB tensors padded to the network's multiple, and their size before."""

    a: torch.Tensor
    b: torch.Tensor
    height: int
    width: int


class RifeInterpolator:
    name = "rife"

    def __init__(self, device: str, weights: str | Path | None = None) -> None:
        self.device = device
        self._net: IFNet = load_ifnet(Path(weights) if weights else _installed(), device)
        self._renderer = WarpRenderer()

    def reset(self) -> None:
        """RIFE sees one pair at a time: nothing is carried."""

    def interpolate(self, a: Picture, b: Picture, ts: Sequence[float],
                    after: Picture | None = None) -> Iterator[Picture]:
        if not ts:
            return iter(())
        pair = self.measure(a, b)
        return (self._renderer.render(a, b, *self.fields(pair, t)) for t in ts)

    def measure(self, a: Picture, b: Picture) -> RifePair:
        """The pair as the network takes it: what :meth:`fields` measures each instant
        from."""
        scale = 0.5 if a.width > _HALF_ABOVE else 1.0
        pair = [self._tensor(p, scale) for p in (a, b)]
        height, width = pair[0].shape[-2:]
        first, second = (F.pad(x, (0, -width % ALIGN, 0, -height % ALIGN)) for x in pair)
        return RifePair(first, second, height, width)

    def fields(self, pair: RifePair,
               t: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """RIFE's flows from instant ``t`` back to each frame and its weight of the first,
        per pixel, at the resolution it measured at."""
        with torch.inference_mode():
            flows, share_a, _ = self._net.flows(pair.a, pair.b, t)
        height, width = pair.height, pair.width
        both = flows[0, :, :height, :width].float().permute(1, 2, 0).cpu().numpy()
        mask = share_a[0, 0, :height, :width].float().cpu().numpy()
        return (np.ascontiguousarray(both[..., :2]), np.ascontiguousarray(both[..., 2:]),
                mask)

    def _tensor(self, picture: Picture, scale: float) -> torch.Tensor:
        """An RGB view of ``picture`` (BT.709; the exact matrix matters little to motion),
        1 x 3 x H x W in [0, 1] on the device."""
        top = np.float32(picture.max_value)
        height, width = picture.y.shape
        y = picture.y.astype(np.float32) / top
        u, v = (cv2.resize(plane.astype(np.float32) / top, (width, height),
                           interpolation=cv2.INTER_LINEAR) - np.float32(0.5)
                for plane in (picture.u, picture.v))
        rgb = np.stack([y + 1.5748 * v, y - 0.1873 * u - 0.4681 * v, y + 1.8556 * u])
        tensor = torch.from_numpy(np.clip(rgb, 0, 1))[None].to(self.device)
        if scale != 1.0:
            tensor = F.interpolate(tensor, scale_factor=scale, mode="bilinear",
                                   align_corners=False)
        return tensor


def _installed() -> Path:
    """The downloaded weights, checked; a one-line error saying how to get them if not."""
    from vidfuse.weights import hub

    weights = hub.lookup(WEIGHTS)
    if hub.installed_path(weights) is None:
        raise UsageError(f"--engine rife needs RIFE 4.0's weights, which are downloaded once: "
                         f"vidfuse weights download {WEIGHTS}")
    return hub.resolve(WEIGHTS, weights.task)
