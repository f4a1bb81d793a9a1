"""Optimisers over difsci objects that optax does not have, as optax transformations."""

from ._gaussian_elbo import gaussian_elbo_loss as gaussian_elbo_loss
from ._ngvi import NGVIState as NGVIState
from ._ngvi import ngvi as ngvi
from ._kfac import KFACState as KFACState
from ._kfac import KroneckerFactors as KroneckerFactors
from ._kfac import kfac as kfac
from ._kfac import kfac_curvature as kfac_curvature
from ._kfac import kfac_step as kfac_step
from ._kfac import mlp_loss as mlp_loss
