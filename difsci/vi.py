"""Variational inference: `fit`, the ELBO, and guides (automatic Gaussian, model-function,
amortised)."""

from ._infer._vi import AbstractGuide as AbstractGuide
from ._infer._vi import AutoMultivariateNormal as AutoMultivariateNormal
from ._infer._vi import AutoNormal as AutoNormal
from ._infer._vi import ModelGuide as ModelGuide
from ._infer._vi import VIResult as VIResult
from ._infer._vi import elbo as elbo
from ._infer._vi import fit as fit
