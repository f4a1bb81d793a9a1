"""difsci: differentiable scientific computing on JAX.

The core every domain uses: distributions and random variables, effect handlers over
plain Python models, validation helpers, and multi-device batching.
"""

from . import _bijections as bijections
from . import _constraints as constraints
from ._checks import check as check
from ._checks import check_finite as check_finite
from ._checks import check_in_range as check_in_range
from ._checks import check_nonnegative as check_nonnegative
from ._checks import check_positive as check_positive
from ._devices import batch_mesh as batch_mesh
from ._devices import batch_compiler_options as batch_compiler_options
from ._devices import shard_batch as shard_batch
from ._devices import set_host_device_count as set_host_device_count
from ._devices import sharded_vmap as sharded_vmap
from ._distributions import AbstractDistribution as AbstractDistribution
from ._distributions import Bernoulli as Bernoulli
from ._distributions import Beta as Beta
from ._distributions import BetaBinomial as BetaBinomial
from ._distributions import Binomial as Binomial
from ._distributions import Categorical as Categorical
from ._distributions import Cauchy as Cauchy
from ._distributions import Chi2 as Chi2
from ._distributions import Dirichlet as Dirichlet
from ._distributions import Exponential as Exponential
from ._distributions import Gamma as Gamma
from ._distributions import Geometric as Geometric
from ._distributions import Gumbel as Gumbel
from ._distributions import HalfCauchy as HalfCauchy
from ._distributions import HalfNormal as HalfNormal
from ._distributions import HalfStudentT as HalfStudentT
from ._distributions import InverseGamma as InverseGamma
from ._distributions import Laplace as Laplace
from ._distributions import LogNormal as LogNormal
from ._distributions import Logistic as Logistic
from ._distributions import Mixture as Mixture
from ._distributions import MixtureSameFamily as MixtureSameFamily
from ._distributions import Multinomial as Multinomial
from ._distributions import MultivariateNormal as MultivariateNormal
from ._distributions import NegativeBinomial as NegativeBinomial
from ._distributions import NegativeBinomial2 as NegativeBinomial2
from ._distributions import Normal as Normal
from ._distributions import Pareto as Pareto
from ._distributions import Poisson as Poisson
from ._distributions import RelaxedBernoulli as RelaxedBernoulli
from ._distributions import RelaxedOneHotCategorical as RelaxedOneHotCategorical
from ._distributions import RelaxedOneHotCategoricalStraightThrough as RelaxedOneHotCategoricalStraightThrough
from ._distributions import StudentT as StudentT
from ._distributions import TransformedDistribution as TransformedDistribution
from ._distributions import TruncatedNormal as TruncatedNormal
from ._distributions import Uniform as Uniform
from ._distributions import VonMises as VonMises
from ._distributions import Weibull as Weibull
from ._handlers import RandomVariable as RandomVariable
from ._handlers import condition as condition
from ._handlers import deterministic as deterministic
from ._handlers import factor as factor
from ._handlers import log_joint as log_joint
from ._handlers import sample as sample
from ._handlers import seed as seed
from ._handlers import substitute as substitute
from ._handlers import trace as trace
from ._modules import draw as draw
from ._modules import score as score
from ._infer._diagnostics import ess_bulk as ess_bulk
from ._infer._diagnostics import split_rhat as split_rhat
from ._infer._diagnostics import summary as summary
from ._infer._mcmc import MCMCResult as MCMCResult
from ._infer._mcmc import hmc as hmc
from ._infer._mcmc import nuts as nuts
from ._infer._mcmc import sample_log_density as sample_log_density
from ._infer._predictive import predictive as predictive
from . import optimizers as optimizers
from . import vi as vi
from ._autograph import AutographError as AutographError
from ._autograph import autograph as autograph


from ._checkpoint import CheckpointError as CheckpointError
from ._checkpoint import load_checkpoint as load_checkpoint
from ._checkpoint import save_checkpoint as save_checkpoint
from ._train import TrainResult as TrainResult
from ._train import TrainState as TrainState
from ._train import train as train
__version__ = "0.1.0"
