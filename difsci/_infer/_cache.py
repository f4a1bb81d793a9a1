"""Compiled sampler programs, kept in memory per process and on disk across processes.

In memory: the programs of a run are reused by the next run with the same model function,
argument shapes and settings (as `jax.jit` reuses a trace: values closed over by the model are
read at the first run). On disk: JAX's persistent compilation cache in the user's cache folder,
so a second run of a script loads its programs instead of compiling them again.
"""

import os
from collections import OrderedDict
from pathlib import Path
from typing import Any

import jax

_MAX_PROGRAMS = 8  # runs' worth of compiled programs kept in memory (least recently used dropped)
_programs: OrderedDict = OrderedDict()


def compilation_cache_dir() -> Path | None:
    """Where `enable_compilation_cache` keeps compiled programs: `$DIFSCI_CACHE_DIR`, else
    `$XDG_CACHE_HOME/difsci/jax`, else `~/.cache/difsci/jax`; `None` when `DIFSCI_NO_CACHE=1`."""
    if os.environ.get("DIFSCI_NO_CACHE", "").strip() not in ("", "0"):
        return None
    if os.environ.get("DIFSCI_CACHE_DIR"):
        return Path(os.environ["DIFSCI_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "difsci" / "jax"


def enable_compilation_cache() -> Path | None:
    """Turn on JAX's persistent compilation cache for this process, in `compilation_cache_dir()`.

    A folder the user already gave JAX (`jax_compilation_cache_dir`) is kept. Programs that
    compile in under `jax_persistent_cache_min_compile_time_secs` (1 s by default) and programs
    with host callbacks are not stored. Results are unchanged: XLA keys each entry on the
    program, the compile options and the versions.

    **Returns:** the folder in use, or `None` when `DIFSCI_NO_CACHE=1` switches it off.
    """
    current = jax.config.jax_compilation_cache_dir
    if current:
        return Path(current)
    path = compilation_cache_dir()
    if path is None:
        return None
    path.mkdir(parents=True, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", str(path))
    return path


def _avals(tree) -> tuple:
    leaves, treedef = jax.tree_util.tree_flatten(tree)
    return treedef, tuple((tuple(x.shape), str(x.dtype), bool(getattr(x, "weak_type", False))) for x in leaves)


def program_key(*parts: Any, static: Any = None, arrays: Any = None) -> tuple | None:
    """A hashable key for a run's programs (`None`: not cacheable, e.g. an unhashable static
    argument). `arrays` enter by shape and dtype, `static` and `parts` by value."""
    leaves, treedef = jax.tree_util.tree_flatten(static)
    key = (parts, treedef, tuple((type(x), x) for x in leaves), _avals(arrays),
           jax.config.jax_enable_x64, tuple(d.id for d in jax.devices()), jax.process_count())
    try:
        hash(key)
    except TypeError:
        return None
    return key


def get_programs(key):
    if key is None or key not in _programs:
        return None
    _programs.move_to_end(key)
    return _programs[key]


def put_programs(key, programs) -> None:
    if key is None:
        return
    _programs[key] = programs
    while len(_programs) > _MAX_PROGRAMS:
        _programs.popitem(last=False)
