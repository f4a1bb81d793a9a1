"""Intel Embree on the host: which face each ray meets first, whether a shadow ray is blocked.

Embree comes with `embreex` (a dependency of difsci). Rays are traced in packets of 16 by a
small C kernel (`_embree_packets.c`) that difsci compiles once per machine with the system's C
compiler, into the user's cache directory, and links against the Embree library embreex ships;
where that cannot be done (no compiler, no library found, `DIFSCI_EMBREE_PACKETS=0`), embreex's
one-ray-at-a-time queries run instead (the same hits, about half as fast). Rays are split over
the CPU's cores in threads (both paths release the GIL).

Scenes are cached by their corners (the last few meshes), a pure function of the corners, so
results never depend on the cache.
"""

import ctypes
import glob
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

_SOURCE = Path(__file__).with_name("_embree_packets.c")
_MIN_RAYS_PER_THREAD = 4096
_CACHED_SCENES = 4

_lock = threading.Lock()
_scenes: list[tuple[np.ndarray, object]] = []  # (corners, scene), most recent first
_pool: ThreadPoolExecutor | None = None
_kernel: object = None  # the loaded packet kernel, False once it proved unavailable


def available() -> bool:
    """Whether Embree (embreex) is installed."""
    try:
        import embreex.mesh_construction  # noqa: F401
        import embreex.rtcore_scene  # noqa: F401
    except ImportError:
        return False
    return True


def _embree_library() -> str | None:
    """The Embree 4 shared library that embreex ships (or links), if it can be found."""
    import embreex

    root = Path(embreex.__file__).parent
    patterns = ["../embreex.libs/libembree4*", ".dylibs/libembree4*", "../embreex/.dylibs/libembree4*", "libembree4*"]
    for pattern in patterns:
        found = sorted(glob.glob(str(root / pattern)))
        if found:
            return str(Path(found[0]).resolve())
    return None


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "difsci" / "embree"


def _compile(library: str) -> Path | None:
    """The packet kernel built for `library`, compiled on first use; None if no compiler works."""
    key = hashlib.sha256(_SOURCE.read_bytes() + library.encode() + sys.platform.encode()).hexdigest()[:16]
    for folder in (_cache_dir(), Path(tempfile.gettempdir()) / "difsci-embree"):
        target = folder / f"packets-{key}.so"
        if target.exists():
            return target
        compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
        if compiler is None:
            return None
        try:
            folder.mkdir(parents=True, exist_ok=True)
            partial = folder / f".packets-{key}-{os.getpid()}-{threading.get_ident()}.so"
            command = [compiler, "-O2", "-shared", "-fPIC", str(_SOURCE), "-o", str(partial), library,
                       f"-Wl,-rpath,{Path(library).parent}"]
            subprocess.run(command, check=True, capture_output=True, timeout=120)
            os.replace(partial, target)  # atomic: a concurrent process sees all of it or nothing
            return target
        except (OSError, subprocess.SubprocessError):
            continue
    return None


def _packets():
    """The loaded packet kernel, or None (then embreex's own queries run)."""
    global _kernel
    if _kernel is None:
        _kernel = False
        library = None if os.environ.get("DIFSCI_EMBREE_PACKETS") == "0" else _embree_library()
        built = _compile(library) if library else None
        if built is not None:
            try:
                lib = ctypes.CDLL(str(built))
                lib.difsci_build.restype = ctypes.c_void_p
                lib.difsci_build.argtypes = [ctypes.c_void_p, ctypes.c_long, ctypes.c_int]
                lib.difsci_release.argtypes = [ctypes.c_void_p]
                lib.difsci_query.argtypes = [ctypes.c_void_p] * 5 + [ctypes.c_long] * 2
                _kernel = lib
            except OSError:
                pass
    return _kernel or None


class _PacketScene:
    def __init__(self, lib, corners: np.ndarray, quality: int = 2):
        self.lib, self.handle = lib, lib.difsci_build(corners.ctypes.data, corners.shape[0], quality)
        if not self.handle:
            raise RuntimeError("Embree could not build a scene")

    def __del__(self):
        if getattr(self, "handle", None):
            self.lib.difsci_release(self.handle)

    def query(self, origins, directions, lengths, out, begin: int, end: int) -> None:
        pointer = None if lengths is None else lengths.ctypes.data
        self.lib.difsci_query(self.handle, origins.ctypes.data, directions.ctypes.data, pointer, out.ctypes.data,
                              begin, end)


class _SingleRayScene:
    def __init__(self, corners: np.ndarray):
        import embreex.mesh_construction as mc
        import embreex.rtcore_scene as rs

        # Embree's default (non-robust) traversal: rays aimed at every vertex and edge midpoint of
        # a closed mesh miss no more often than in robust mode, and it is faster.
        self.scene = rs.EmbreeScene(robust=False)
        mc.TriangleMesh(self.scene, corners)

    def query(self, origins, directions, lengths, out, begin: int, end: int) -> None:
        part = slice(begin, end)
        if lengths is None:
            out[part] = self.scene.run(origins[part], directions[part], query="INTERSECT")
        else:
            out[part] = self.scene.run(origins[part], directions[part], dists=np.ascontiguousarray(lengths[part]),
                                       query="OCCLUDED")


def _scene_for(corners: np.ndarray):
    """The scene of `corners` (float32 `(F, 3, 3)`), reused while the corners are unchanged."""
    with _lock:
        for i, (key, scene) in enumerate(_scenes):
            if key.shape == corners.shape and np.array_equal(key, corners):
                _scenes.insert(0, _scenes.pop(i))
                return scene
        lib = _packets()
        # A mesh seen before with other corners is being changed (fitted), so its scene will be
        # rebuilt at every step: Embree's medium build quality, several times faster to build
        # (200k faces: 0.2 s against 0.75 s at high quality here). Else the high quality traces faster.
        changing = any(key.shape == corners.shape for key, _ in _scenes)
        scene = _PacketScene(lib, corners, 1 if changing else 2) if lib is not None else _SingleRayScene(corners)
        _scenes.insert(0, (corners.copy(), scene))
        del _scenes[_CACHED_SCENES:]
        return scene


def query(corners, origins, directions, lengths=None) -> np.ndarray:
    """For rays `origins`, `directions` (n, 3): with `lengths` None, the face (index into
    `corners` `(F, 3, 3)`) each meets first, `-1` for none; else 0 where a face lies at a
    distance in `(0, lengths)` and -1 elsewhere. Computed in float32 from t = 0."""
    global _pool
    corners = np.ascontiguousarray(corners, np.float32).reshape(-1, 3, 3)
    n = origins.shape[0]
    out = np.full(n, -1, np.int32)
    if corners.shape[0] == 0 or n == 0:
        return out
    scene = _scene_for(corners)
    origins = np.ascontiguousarray(origins, np.float32)
    directions = np.ascontiguousarray(directions, np.float32)
    if lengths is not None:
        lengths = np.asarray(lengths, np.float32)
        # Embree's any-hit accepts hits in [0, tfar]; ours excludes the end point.
        lengths = np.ascontiguousarray(np.maximum(np.nextafter(lengths, np.float32(0)), 0))
    threads = max(1, min(os.cpu_count() or 1, n // _MIN_RAYS_PER_THREAD))
    if threads == 1:
        scene.query(origins, directions, lengths, out, 0, n)
    else:
        if _pool is None:
            _pool = ThreadPoolExecutor(os.cpu_count())
        bounds = np.linspace(0, n, threads + 1).astype(int)
        list(_pool.map(lambda k: scene.query(origins, directions, lengths, out, int(bounds[k]), int(bounds[k + 1])),
                       range(threads)))
    if lengths is not None:
        out[lengths <= 0] = -1  # an empty segment blocks nothing
    return out
