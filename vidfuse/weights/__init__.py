"""Network weights: which sets exist, where their files are, and the one way to get a
verified file from a name or a path (:func:`resolve`).

- :mod:`vidfuse.weights.hub`: the manifests (shipped and local), the cache, downloads on
  demand, verification, registering your own training.
- :mod:`vidfuse.weights.download`: resumable, verified HTTP downloads.
- :mod:`vidfuse.weights.networks`: the architectures, loading a file into one, exporting a
  training checkpoint (the only module here that imports torch).
"""

from vidfuse.weights.hub import (
    DEFAULTS,
    TASKS,
    WeightSet,
    cache_dir,
    download,
    installed_path,
    known,
    lookup,
    register,
    remove,
    resolve,
    verify,
)

__all__ = ["DEFAULTS", "TASKS", "WeightSet", "cache_dir", "download", "installed_path", "known",
           "lookup", "register", "remove", "resolve", "verify"]
