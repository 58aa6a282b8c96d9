"""The `vidfuse` command: a module per command, each a thin layer over the library (parse,
call, print). The commands are registered here, in the order `vidfuse --help` lists them."""

from vidfuse.cli import batch, compare, evaluate, info, train, upscale, weights
from vidfuse.cli._app import app, main, on_stop_signal

app.command("upscale")(upscale.upscale_command)
app.command("batch")(batch.batch_command)
app.command("compare")(compare.compare_command)
app.command("eval")(evaluate.eval_command)
app.command("info")(info.info_command)
app.add_typer(weights.weights_app, name="weights")
app.add_typer(train.train_app, name="train")

__all__ = ["app", "main", "on_stop_signal"]
