"""The app itself, its consoles, one-line errors with exit codes, and stop signals."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from vidfuse import __version__
from vidfuse.errors import Cancelled, UsageError, VidfuseError

# Click's error classes, from wherever this typer takes Click (it may vendor its own copy).
_ClickError: type[Exception] = next(c for c in typer.BadParameter.__mro__
                                    if c.__name__ == "ClickException")
_UsageError: type[Exception] = next(c for c in typer.BadParameter.__mro__
                                    if c.__name__ == "UsageError")


class _OneLineErrors(TyperGroup):
    """Click's own errors (an unknown option, a missing argument, a bad value) as one line
    with exit code 2, like vidfuse's own, instead of a boxed panel."""

    def main(self, *args: Any, standalone_mode: bool = True, **extra: Any) -> Any:
        try:
            code = super().main(*args, **{**extra, "standalone_mode": False})
        except typer.Abort:
            err.print("[red]error:[/] aborted", soft_wrap=True)
            code = 1
        except _ClickError as exc:
            code = getattr(exc, "exit_code", 2)
            message = exc.format_message()  # type: ignore[attr-defined]  # Click's
            if message.strip():  # empty: the help it stands for is already printed
                context = getattr(exc, "ctx", None) if isinstance(exc, _UsageError) else None
                where = context.command_path if context else extra.get("prog_name", self.name)
                err.print(f"[red]error:[/] {escape(message)} (see '{where} --help')",
                          soft_wrap=True)
        if not standalone_mode:
            return code
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    cls=_OneLineErrors,
    name="vidfuse",
    help="Smoother, more colourful video: raise the frame rate with motion-compensated "
         "interpolation, and colour greyscale video from a few colour keyframes.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True, highlight=False)
out = Console(highlight=False)
T = TypeVar("T")


def flag(*names: str, **settings: Any) -> Any:
    """A boolean option: present or not, so its help shows no value type."""
    return typer.Option(*names, metavar="", **settings)


@dataclass
class RunState:
    """What the top-level options set for the command that runs (--debug)."""

    debug: bool = False


state = RunState()

def _version(wanted: bool) -> None:
    """--version: vidfuse's and the libraries' that shape its output, for bug reports."""
    if not wanted:
        return
    import platform
    from importlib.metadata import PackageNotFoundError, version

    import av
    import cv2

    def installed(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "not installed"

    out.print(f"vidfuse {__version__}", soft_wrap=True)
    out.print(f"Python {platform.python_version()}, PyAV {av.__version__} (FFmpeg "
              f"{av.ffmpeg_version_info}), OpenCV {cv2.__version__}, torch "
              f"{installed('torch')}, numpy {installed('numpy')}", soft_wrap=True)
    raise typer.Exit()


@app.callback()
def _main(
    debug: Annotated[bool, flag(
        "--debug", help="Show full tracebacks on errors, and the encoder library's own "
                        "messages.")] = False,
    version: Annotated[bool, flag(
        "--version", callback=_version, is_eager=True,
        help="Show the versions of vidfuse and of the libraries it runs on.")] = False,
) -> None:
    state.debug = debug
    # Logs and CI read stderr as a file: a message stays on one line there, however long.
    err.soft_wrap = not err.is_terminal


def parse_fraction(text: str, option: str) -> Fraction:
    try:
        value = Fraction(text)
    except (ValueError, ZeroDivisionError):
        raise UsageError(f"{option} takes a number like 60, 29.97 or 60000/1001, not '{text}'") \
            from None
    if value <= 0:
        raise UsageError(f"{option} must be positive, not '{text}'")
    return value


def parse_key_values(pairs: list[str]) -> dict[str, str]:
    result = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--encoder-opt takes key=value, not '{pair}'")
        result[key] = value
    return result


NOTHING_WRITTEN = "interrupted; no output was written"


def guarded(action: Callable[[], T],
            interrupted: str | Callable[[], str] = NOTHING_WRITTEN) -> T:
    """Run a command body: known errors become one line and an exit code, never a traceback.
    ``interrupted``: what to say after Ctrl-C or SIGTERM (asked for then, where it depends on
    what the run left)."""
    try:
        return action()
    except (Cancelled, KeyboardInterrupt):
        fail(interrupted() if callable(interrupted) else interrupted, interrupted_exit_code())
    except VidfuseError as exc:
        if state.debug:
            raise
        fail(str(exc), exc.exit_code)
    except Exception as exc:  # a bug: still one line unless --debug
        if state.debug:
            raise
        fail(f"unexpected {type(exc).__name__}: {exc} (run with --debug for details)", 1)


def parse_offset(text: str) -> float | None:
    """--reference-offset: seconds, or None for auto."""
    if text.strip().lower() == "auto":
        return None
    try:
        return float(text)
    except ValueError:
        raise UsageError(f"--reference-offset takes seconds or auto, not {text!r}") from None


def fail(message: str, code: int) -> NoReturn:
    err.print(f"[red]error:[/] {escape(message)}", soft_wrap=True)
    raise typer.Exit(code)


stop_requested = threading.Event()
_stop_signal = [signal.SIGINT]  # the signal that asked to stop (Ctrl-C when none did)


def interrupted_exit_code() -> int:
    """128 + the signal's number, as shells report it: 130 for Ctrl-C, 143 for SIGTERM."""
    return 128 + _stop_signal[0]


def on_stop_signal(signum: int, frame: object) -> None:
    """Ctrl-C and SIGTERM: set the cancel event the running command was given, then
    interrupt. Python drops an exception raised while it runs a finaliser or weakref
    callback; the event still stops the run at its next frame or file (``Cancelled``).

    A second one while that clean stop runs quits at once, as ffmpeg does: nothing is
    renamed into place, and the hidden partial file is removed by the next run to that
    output."""
    if stop_requested.is_set():
        err.print("[red]error:[/] interrupted again: stopped at once", soft_wrap=True)
        os._exit(interrupted_exit_code())
    _stop_signal[0] = signal.Signals(signum)
    stop_requested.set()
    raise KeyboardInterrupt


def main() -> None:
    """Entry point: SIGTERM is treated like Ctrl-C so outputs are cleaned up either way."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(signum) is not signal.SIG_IGN:  # nohup/background: respect it
            signal.signal(signum, on_stop_signal)
    app(prog_name="vidfuse")
    sys.exit(0)
