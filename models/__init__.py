"""Shipped weights and model cards, installed as the package `vidfuse.models`."""
