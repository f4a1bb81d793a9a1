"""Differentiable simulators on diffrax."""
