"""vidfuse: smoother, more colourful video from small learned models.

Python users call :func:`upscale` with an :class:`UpscaleOptions`; the ``vidfuse`` command is a
thin layer over the same functions.
"""

from vidfuse.api import UpscaleOptions, UpscaleResult, default_output, upscale
from vidfuse.batch import BatchInterrupted
from vidfuse.errors import (
    Cancelled,
    DeviceError,
    DownloadError,
    InputError,
    OutputError,
    UsageError,
    VidfuseError,
    WeightsError,
)
from vidfuse.video.probe import MediaInfo, probe
from vidfuse.video.span import Span
from vidfuse.video.writer import EncodeSettings

__version__ = "0.1.0"

__all__ = [
    "BatchInterrupted",
    "Cancelled",
    "DeviceError",
    "DownloadError",
    "EncodeSettings",
    "InputError",
    "MediaInfo",
    "OutputError",
    "Span",
    "UpscaleOptions",
    "UpscaleResult",
    "UsageError",
    "VidfuseError",
    "WeightsError",
    "__version__",
    "default_output",
    "probe",
    "upscale",
]
