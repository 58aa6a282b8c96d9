"""Exceptions that carry a one-line, human-readable message and the exit code the CLI returns."""

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


def ffmpeg_reason(exc: BaseException) -> str:
    """FFmpeg's message without the errno prefix and repeated filename."""
    text = getattr(exc, "strerror", None) or str(exc)
    return str(text).split(";")[0].strip()
