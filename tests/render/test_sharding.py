"""The pixels of one image split over several devices give the same image as one device."""

import textwrap

import jax
import numpy as np

import render

from ..helpers import run_with_devices

# Run in a fresh process with 4 CPU devices; prints the images as .npy files under a folder.
CODE = textwrap.dedent(
    """
    import sys
    import jax
    jax.config.update("jax_enable_x64", True)
    import numpy as np
    import render
    assert jax.device_count() == {devices}
    scene, camera = render.three_spheres(width=13, height=7)
    np.save(sys.argv[1] + "/plain.npy", np.asarray(render.render(scene, camera)))
    area = render.Scene(scene.objects, [render.SphereLight((1.0, 3.0, 2.0), 0.3, 40.0)])
    keyed = render.render(area, camera, spp=3, key=jax.random.key(5), light_samples=4)
    np.save(sys.argv[1] + "/keyed.npy", np.asarray(keyed))
    torus, view = render.torus_on_floor(6, width=11, height=9, shading="smooth")
    for accel in ("bvh", "embree"):
        np.save(sys.argv[1] + f"/mesh_{{accel}}.npy", np.asarray(render.render(torus, view, accel=accel)))
    """
)


def _images(tmp_path, devices):
    folder = tmp_path / str(devices)
    folder.mkdir()
    code = CODE.format(devices=devices).replace("sys.argv[1]", repr(str(folder)))
    run_with_devices(code, num_devices=devices)
    return [np.load(folder / f"{name}.npy") for name in ("plain", "keyed", "mesh_bvh", "mesh_embree")]


def test_four_devices_render_the_same_image_as_one(tmp_path):
    plain, keyed, mesh_bvh, mesh_embree = _images(tmp_path, 4)
    # The same program on this process's single device.
    assert jax.device_count() == 1
    scene, camera = render.three_spheres(width=13, height=7)
    np.testing.assert_allclose(plain, render.render(scene, camera), rtol=1e-12, atol=1e-15)
    area = render.Scene(scene.objects, [render.SphereLight((1.0, 3.0, 2.0), 0.3, 40.0)])
    one = render.render(area, camera, spp=3, key=jax.random.key(5), light_samples=4)
    np.testing.assert_allclose(keyed, one, rtol=1e-12, atol=1e-15)
    assert plain.max() > 0 and keyed.max() > 0
    # Meshes: each device queries its own rays (the JAX BVH, or Embree through a host callback).
    torus, view = render.torus_on_floor(6, width=11, height=9, shading="smooth")
    one = render.render(torus, view, accel="brute")
    np.testing.assert_allclose(mesh_bvh, one, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(mesh_embree, one, rtol=1e-5, atol=1e-6)
    assert one.max() > 0
