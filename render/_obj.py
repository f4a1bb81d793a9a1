"""Triangle meshes from Wavefront .obj files."""

import os

import numpy as np

from ._base import AbstractMaterial
from ._triangle import TriangleMesh


def load_obj(path: str | os.PathLike, material: AbstractMaterial, *, scale: float = 1.0) -> TriangleMesh:
    """Read the vertices (`v x y z`) and faces (`f ...`) of a Wavefront .obj file as a `TriangleMesh`.

    Face corners may be written `i`, `i/t`, `i//n` or `i/t/n` (texture and normal indices are
    ignored); negative indices count back from the last vertex read, as the format says. Polygons of
    more than three corners are split into a fan of triangles. Everything else (groups, materials,
    texture coordinates, normals) is ignored.

    **Arguments:** `path`: the file; `material`: for every face; `scale`: vertex coordinates are
    multiplied by it (the file's units to metres).

    **Returns:** a `TriangleMesh` with `vertices` `(V, 3)` metres and `faces` `(F, 3)`.
    """
    vertices: list[list[float]] = []
    faces: list[tuple[int, int, int]] = []
    with open(path) as f:
        for number, line in enumerate(f, start=1):
            words = line.split("#", 1)[0].split()
            if not words:
                continue
            where = f"load_obj: {os.fspath(path)}, line {number}"
            if words[0] == "v":
                if len(words) < 4:
                    raise ValueError(f"{where}: a vertex needs three coordinates, got {line.strip()!r}")
                try:
                    vertices.append([float(w) for w in words[1:4]])
                except ValueError:
                    raise ValueError(f"{where}: vertex coordinates must be numbers, got {line.strip()!r}") from None
            elif words[0] == "f":
                if len(words) < 4:
                    raise ValueError(f"{where}: a face needs at least three corners, got {line.strip()!r}")
                corners = []
                for word in words[1:]:
                    try:
                        i = int(word.split("/", 1)[0])
                    except ValueError:
                        raise ValueError(f"{where}: face corners must be vertex indices, got {word!r}") from None
                    index = i - 1 if i > 0 else len(vertices) + i
                    if i == 0 or not 0 <= index < len(vertices):
                        raise ValueError(
                            f"{where}: face corner {i} refers to no vertex ({len(vertices)} vertices read so far)"
                        )
                    corners.append(index)
                faces.extend((corners[0], corners[k], corners[k + 1]) for k in range(1, len(corners) - 1))
    if not faces:
        raise ValueError(f"load_obj: {os.fspath(path)} has no faces (lines starting with `f`)")
    return TriangleMesh(np.asarray(vertices) * scale, np.asarray(faces, dtype=np.int32), material)
