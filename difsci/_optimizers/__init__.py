"""Optimisers over difsci objects that optax does not have, as optax transformations."""

from ._gaussian_elbo import gaussian_elbo_loss as gaussian_elbo_loss
from ._ngvi import NGVIState as NGVIState
from ._ngvi import ngvi as ngvi
