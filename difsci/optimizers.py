"""Optimisers optax does not have, as optax `GradientTransformation`s: natural-gradient VI
for Gaussian guides (`ngvi`) and the ELBO it is paired with (`gaussian_elbo_loss`), and
K-FAC for Equinox MLPs (`kfac`, with `kfac_step`, `kfac_curvature` and `mlp_loss`).

Lookahead (`optax.lookahead`) and gradient accumulation (`optax.MultiSteps`) are optax's own;
`examples/natural_gradients.py` shows them next to these."""

from ._optimizers import KFACState as KFACState
from ._optimizers import KroneckerFactors as KroneckerFactors
from ._optimizers import NGVIState as NGVIState
from ._optimizers import gaussian_elbo_loss as gaussian_elbo_loss
from ._optimizers import kfac as kfac
from ._optimizers import kfac_curvature as kfac_curvature
from ._optimizers import kfac_step as kfac_step
from ._optimizers import mlp_loss as mlp_loss
from ._optimizers import ngvi as ngvi
