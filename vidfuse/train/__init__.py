"""Training the learned engines on real footage: datasets, losses and the trainer."""
