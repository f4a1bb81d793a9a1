"""difsci: differentiable scientific computing on JAX."""

from ._checks import check as check
from ._checks import check_finite as check_finite
from ._checks import check_in_range as check_in_range
from ._checks import check_nonnegative as check_nonnegative
from ._checks import check_positive as check_positive

__version__ = "0.1.0"
from ._devices import batch_mesh as batch_mesh
from ._devices import shard_batch as shard_batch
from ._devices import sharded_vmap as sharded_vmap
