"""Optimisers optax does not have, as optax `GradientTransformation`s: natural-gradient VI
for Gaussian guides (`ngvi`) and the ELBO it is paired with (`gaussian_elbo_loss`)."""

from ._optimizers import NGVIState as NGVIState
from ._optimizers import gaussian_elbo_loss as gaussian_elbo_loss
from ._optimizers import ngvi as ngvi
