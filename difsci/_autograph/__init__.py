"""Native Python control flow under jit, vmap and grad: `autograph` (built on malt)."""

from ._api import autograph as autograph
from ._errors import AutographError as AutographError
