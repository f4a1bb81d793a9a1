"""Triangle meshes from Wavefront .obj files."""

import os

import numpy as np

from ._base import AbstractMaterial
from ._triangle import TriangleMesh


def load_obj(
    path: str | os.PathLike, material: AbstractMaterial, *, scale: float = 1.0, shading: str = "smooth"
) -> TriangleMesh:
    """Read the vertices (`v x y z`), vertex normals (`vn x y z`) and faces (`f ...`) of a
    Wavefront .obj file as a `TriangleMesh`.

    Face corners may be written `i`, `i/t`, `i//n` or `i/t/n` (texture indices are ignored);
    negative indices count back from the last vertex (or normal) read, as the format says.
    Polygons of more than three corners are split into a fan of triangles. Everything else
    (groups, materials, texture coordinates) is ignored.

    **Arguments:** `path`: the file; `material`: for every face; `scale`: vertex coordinates are
    multiplied by it (the file's units to metres); `shading`: `"smooth"` (the default, as in
    Mitsuba 3) interpolates the file's normals where every face corner names one (a vertex
    given different normals by different faces is split), else area-weighted vertex normals;
    `"flat"` shades each face with its own normal.

    **Returns:** a `TriangleMesh` with `vertices` `(V, 3)` metres and `faces` `(F, 3)`.
    """
    vertices: list[list[float]] = []
    normals: list[list[float]] = []
    corners_of_faces: list[tuple[tuple[int, int | None], ...]] = []
    with open(path) as f:
        for number, line in enumerate(f, start=1):
            words = line.split("#", 1)[0].split()
            if not words:
                continue
            where = f"load_obj: {os.fspath(path)}, line {number}"
            if words[0] in ("v", "vn"):
                what = "a vertex" if words[0] == "v" else "a normal"
                if len(words) < 4:
                    raise ValueError(f"{where}: {what} needs three coordinates, got {line.strip()!r}")
                try:
                    (vertices if words[0] == "v" else normals).append([float(w) for w in words[1:4]])
                except ValueError:
                    raise ValueError(f"{where}: {what}'s coordinates must be numbers, got {line.strip()!r}") from None
            elif words[0] == "f":
                if len(words) < 4:
                    raise ValueError(f"{where}: a face needs at least three corners, got {line.strip()!r}")
                corners = tuple(_corner(word, len(vertices), len(normals), where) for word in words[1:])
                corners_of_faces.extend((corners[0], corners[k], corners[k + 1]) for k in range(1, len(corners) - 1))
    if not corners_of_faces:
        raise ValueError(f"load_obj: {os.fspath(path)} has no faces (lines starting with `f`)")
    points = np.asarray(vertices) * scale
    if shading == "smooth" and all(n is not None for face in corners_of_faces for _, n in face):
        # One mesh vertex per distinct (position, normal) pair the faces use.
        pairs = np.asarray([corner for face in corners_of_faces for corner in face])
        unique, inverse = np.unique(pairs, axis=0, return_inverse=True)
        faces = inverse.reshape(-1, 3).astype(np.int32)
        return TriangleMesh(points[unique[:, 0]], faces, material, shading="smooth",
                            normals=np.asarray(normals)[unique[:, 1]])
    faces = np.asarray([[v for v, _ in face] for face in corners_of_faces], dtype=np.int32)
    return TriangleMesh(points, faces, material, shading=shading)


def _corner(word: str, vertex_count: int, normal_count: int, where: str) -> tuple[int, int | None]:
    """A face corner `i`, `i/t`, `i//n` or `i/t/n` as (vertex index, normal index or None), from 0."""
    parts = word.split("/")
    try:
        i = int(parts[0])
        n = int(parts[2]) if len(parts) > 2 and parts[2] else None
    except ValueError:
        raise ValueError(f"{where}: face corners must be vertex indices, got {word!r}") from None
    index = i - 1 if i > 0 else vertex_count + i
    if i == 0 or not 0 <= index < vertex_count:
        raise ValueError(f"{where}: face corner {i} refers to no vertex ({vertex_count} vertices read so far)")
    if n is None:
        return index, None
    normal = n - 1 if n > 0 else normal_count + n
    if n == 0 or not 0 <= normal < normal_count:
        raise ValueError(f"{where}: face corner {word!r} refers to no normal ({normal_count} normals read so far)")
    return index, normal
