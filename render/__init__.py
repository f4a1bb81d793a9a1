"""A differentiable ray tracer: scenes of spheres, planes and triangle meshes, lit by point,
directional and spherical area lights, rendered to linear radiance by a pure function of every
float in the scene and camera.
"""

from ._base import AbstractGeometry as AbstractGeometry
from ._base import AbstractLight as AbstractLight
from ._base import AbstractMaterial as AbstractMaterial
from ._camera import Camera as Camera
from ._diffuse import Diffuse as Diffuse
from ._directional_light import DirectionalLight as DirectionalLight
from ._examples import fit_light_to_photo as fit_light_to_photo
from ._examples import three_spheres as three_spheres
from ._examples import torus_mesh as torus_mesh
from ._examples import torus_on_floor as torus_on_floor
from ._fit import fit_light as fit_light
from ._fit import LightFit as LightFit
from ._fit import save_fit_pictures as save_fit_pictures
from ._fit import save_strip as save_strip
from ._glossy import Glossy as Glossy
from ._image import linear_to_srgb as linear_to_srgb
from ._image import load_png as load_png
from ._image import save_png as save_png
from ._image import srgb_to_linear as srgb_to_linear
from ._obj import load_obj as load_obj
from ._plane import Plane as Plane
from ._point_light import PointLight as PointLight
from ._render import render as render
from ._scene import Scene as Scene
from ._sphere import Sphere as Sphere
from ._sphere_light import SphereLight as SphereLight
from ._triangle import Triangle as Triangle
from ._triangle import TriangleMesh as TriangleMesh
