"""Every error vidfuse raises on purpose, each with a one-line human message and the exit
code the CLI returns for it:

    VidfuseError                 1  base; never raised itself
    ├── UsageError               2  the command line or options are wrong
    ├── DeviceError              2  a requested GPU is not there (never silently the CPU)
    ├── InputError               1  the input exists but cannot be read as video
    ├── OutputError              1  the output cannot be encoded or written
    ├── WeightsError             1  weights are damaged or missing (an install or cache fault)
    │   └── DownloadError        1  weights could not be fetched or failed verification
    └── Cancelled              130  stopped on request (a ``cancel`` event was set)
        └── BatchInterrupted   130  a batch stopped part-way (vidfuse.batch)
"""

from __future__ import annotations


class VidfuseError(Exception):
    """Base of every error vidfuse raises on purpose; the CLI prints its message and exits."""

    exit_code = 1


class UsageError(VidfuseError):
    """The command line or options are wrong: fixable without looking inside any file."""

    exit_code = 2


class InputError(VidfuseError):
    """The input exists but cannot be read as video (corrupt, empty, no video stream, ...)."""


class OutputError(VidfuseError):
    """The output cannot be encoded or written."""


class DeviceError(VidfuseError):
    """A requested compute device is not available; never silently replaced by the CPU."""

    exit_code = 2


class WeightsError(VidfuseError):
    """Weights vidfuse needs are damaged or missing: a broken install, manifest or cache,
    not a mistake in the options."""


class DownloadError(WeightsError):
    """Weights could not be downloaded, or what arrived failed verification."""


class Cancelled(VidfuseError):
    """The run was stopped on request; outputs not finished were removed."""

    exit_code = 130


def ffmpeg_reason(exc: BaseException) -> str:
    """FFmpeg's message without the errno prefix and repeated filename."""
    text = getattr(exc, "strerror", None) or str(exc)
    return str(text).split(";")[0].strip()
