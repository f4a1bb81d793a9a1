"""Inference: NUTS/HMC over models and log densities, variational inference, diagnostics."""
