"""Choosing the compute device: CUDA when asked or available, never a silent CPU fallback."""

from __future__ import annotations

import re

from vidfuse.errors import DeviceError, UsageError

_PATTERN = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")


def resolve_device(spec: str) -> str:
    """'auto' -> 'cuda' if a GPU is visible else 'cpu'; an explicit GPU that is missing fails."""
    spec = spec.strip().lower()
    if not _PATTERN.match(spec):
        raise UsageError(f"unknown device '{spec}' (use auto, cpu, cuda or cuda:N)")
    if spec == "cpu":
        return "cpu"
    import torch  # deferred: importing torch costs a second or more

    available = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if spec == "auto":
        return "cuda" if available else "cpu"
    index = int(spec.split(":")[1]) if ":" in spec else 0
    if index >= available:
        found = f"{available} CUDA device(s) visible" if available else "no CUDA device visible"
        raise DeviceError(f"device {spec} requested but {found} (use --device cpu)")
    return spec
