"""`python -m vidfuse.train`, and `torchrun ... -m vidfuse.train` (one process per rank): the
same commands as `vidfuse train` (vidfuse.cli.train).

    python -m vidfuse.train build-interp --data DATA --bank train.npz
    torchrun --nproc-per-node 2 -m vidfuse.train interp --bank train.npz --out runs/a
    python -m vidfuse.train export --task interp --checkpoint runs/a/checkpoint.pt \\
        --out models/interp-convlstm.safetensors
"""

from vidfuse.cli.train import train_app

if __name__ == "__main__":
    train_app(prog_name="python -m vidfuse.train")
