"""Checkpoints that are written atomically and read back exactly.

A checkpoint file is a one-line header, a JSON line of metadata, and the pytree's leaves
serialised by `eqx.tree_serialise_leaves` (no pickle). The metadata records the tree's
structure (shapes, dtypes, treedef) and a SHA-256 of the payload, so a truncated, corrupt
or mismatched file is a clear error, never a silent restart.
"""

import hashlib
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import equinox as eqx
import jax
from jaxtyping import PyTree

_MAGIC = b"DIFSCI-CHECKPOINT 1\n"


class CheckpointError(ValueError):
    """A checkpoint that cannot be used: corrupt, truncated, or for a different model."""


def _describe_leaf(x) -> str:
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        return f"{x.dtype}{list(x.shape)}"
    return type(x).__name__


def _structure(tree: PyTree) -> str:
    leaves, treedef = jax.tree_util.tree_flatten(tree)
    return f"{treedef}|{';'.join(map(_describe_leaf, leaves))}"


def save_checkpoint(path: str | os.PathLike, tree: PyTree, metadata: dict[str, Any] | None = None) -> None:
    """Write `tree` (and JSON-able `metadata`) to `path` atomically.

    The file is written to a temporary file in the same folder, flushed and fsync'd, then
    renamed over `path`; a crash at any moment leaves either the old or the new checkpoint.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    eqx.tree_serialise_leaves(buffer, tree)
    payload = buffer.getvalue()
    header = {
        "structure": _structure(tree),
        "sha256": hashlib.sha256(payload).hexdigest(),
        "metadata": metadata or {},
    }
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(_MAGIC)
            f.write(json.dumps(header).encode() + b"\n")
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def load_checkpoint(path: str | os.PathLike, like: PyTree) -> tuple[PyTree, dict[str, Any]]:
    """Read a checkpoint written by `save_checkpoint` into the structure of `like`.

    **Returns:** `(tree, metadata)`. Raises `CheckpointError` naming the problem if the
    file is not a difsci checkpoint, is corrupt or truncated, or holds a different tree.
    """
    path = Path(path)
    data = path.read_bytes()
    if not data.startswith(_MAGIC):
        raise CheckpointError(f"{path} is not a difsci checkpoint (bad header); delete it or pass another path")
    try:
        header_line, payload = data[len(_MAGIC) :].split(b"\n", 1)
        header = json.loads(header_line)
    except ValueError:
        raise CheckpointError(f"{path} is corrupt: its metadata cannot be read") from None
    if hashlib.sha256(payload).hexdigest() != header.get("sha256"):
        raise CheckpointError(f"{path} is corrupt or truncated: its checksum does not match")
    expected = _structure(like)
    if header.get("structure") != expected:
        raise CheckpointError(
            f"{path} was written for a different model or optimiser state "
            f"(structure differs): saved {header.get('structure')[:300]!r}, "
            f"expected {expected[:300]!r}. Use a new checkpoint path or the original model."
        )
    tree = eqx.tree_deserialise_leaves(io.BytesIO(payload), like)
    return tree, header["metadata"]
