"""An independent NumPy reference for the tests: camera rays and the closed-form radiance of
Lambertian spheres and planes under one point light, pixel by pixel."""

import math

import numpy as np


def camera_ray(eye, target, up, fov, width, height, row, col):
    """Origin and unit direction through the centre of pixel `(row, col)` (row 0 at the top)."""
    eye, target, up = (np.asarray(v, float) for v in (eye, target, up))
    forward = (target - eye) / np.linalg.norm(target - eye)
    right = np.cross(forward, up)
    right /= np.linalg.norm(right)
    true_up = np.cross(right, forward)
    half = math.tan(math.radians(fov) / 2)
    x = (2 * (col + 0.5) / width - 1) * half
    y = (1 - 2 * (row + 0.5) / height) * half * height / width
    d = forward + x * right + y * true_up
    return eye, d / np.linalg.norm(d)


def hit_sphere(o, d, center, radius):
    oc = o - np.asarray(center, float)
    b = oc @ d
    disc = b * b - (oc @ oc - radius**2)
    if disc <= 0:
        return math.inf
    near, far = -b - math.sqrt(disc), -b + math.sqrt(disc)
    return near if near > 0 else (far if far > 0 else math.inf)


def hit_plane(o, d, point, normal):
    n = np.asarray(normal, float)
    denom = n @ d
    if denom == 0:
        return math.inf
    t = (np.asarray(point, float) - o) @ n / denom
    return t if t > 0 else math.inf


def lambert(albedo, intensity, x, n, light):
    """albedo / pi * I * max(cos, 0) / d^2 at point `x` with unit normal `n` (facing the viewer)."""
    to_light = np.asarray(light, float) - x
    d2 = to_light @ to_light
    cos = max(n @ to_light / math.sqrt(d2), 0.0)
    return np.asarray(albedo, float) / math.pi * np.asarray(intensity, float) * cos / d2


def shade(spheres, planes, light, intensity, o, d):
    """Radiance along one ray in a scene of `spheres` [(center, radius, albedo)] and `planes`
    [(point, normal, albedo)] lit by a point light; returns (rgb, kind) where kind is
    "miss", "shadow" or "lit"."""
    best, hit = math.inf, None
    for c, r, a in spheres:
        t = hit_sphere(o, d, c, r)
        if t < best:
            best, hit = t, ("sphere", c, r, a)
    for p, n, a in planes:
        t = hit_plane(o, d, p, n)
        if t < best:
            best, hit = t, ("plane", p, n, a)
    if hit is None:
        return np.zeros(3), "miss"
    x = o + best * d
    if hit[0] == "sphere":
        n = (x - np.asarray(hit[1], float)) / hit[2]
    else:
        n = np.asarray(hit[2], float) / np.linalg.norm(hit[2])
    if n @ d > 0:
        n = -n
    to_light = np.asarray(light, float) - x
    dist = np.linalg.norm(to_light)
    w = to_light / dist
    start = x + 1e-9 * n
    blocked = any(hit_sphere(start, w, c, r) < dist for c, r, _ in spheres) or any(
        hit_plane(start, w, p, nn) < dist for p, nn, _ in planes
    )
    if blocked and n @ w > 0:
        return np.zeros(3), "shadow"
    return lambert(hit[3], intensity, x, n, light), "lit"
