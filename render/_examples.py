"""A small standard scene shared by the light-fitting example, `difsci demo` and the benchmark."""

from ._camera import Camera
from ._diffuse import Diffuse
from ._plane import Plane
from ._point_light import PointLight
from ._scene import Scene
from ._sphere import Sphere
from ._types import ArrayLike

#: Where `three_spheres` puts its light by default, metres.
THREE_SPHERES_LIGHT = (1.0, 3.0, 2.0)


def three_spheres(
    light: ArrayLike = THREE_SPHERES_LIGHT, intensity: ArrayLike = 30.0, width: int = 64, height: int = 64
) -> tuple[Scene, Camera]:
    """Three diffuse spheres (red, green, blue; radii 1, 0.6, 0.5 metres) on a grey diffuse floor at
    `y = -1`, lit by one point light at `light` (metres) of `intensity` (W/sr), and a camera
    (`width x height` pixels, 45 degree field of view) looking at them from 6 metres.

    **Returns:** `(scene, camera)`.
    """
    scene = Scene(
        [
            Sphere((0.0, 0.0, 0.0), 1.0, Diffuse((0.8, 0.3, 0.25))),
            Sphere((1.7, -0.4, 0.6), 0.6, Diffuse((0.3, 0.75, 0.35))),
            Sphere((-1.5, -0.5, 0.9), 0.5, Diffuse((0.3, 0.4, 0.85))),
            Plane((0.0, -1.0, 0.0), (0.0, 1.0, 0.0), Diffuse(0.7)),
        ],
        [PointLight(light, intensity)],
    )
    camera = Camera((0.0, 2.0, 6.0), (0.0, -0.3, 0.0), fov=45.0, width=width, height=height)
    return scene, camera
