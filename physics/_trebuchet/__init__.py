"""The trebuchet, one idea a file: state and units, motion, phases and failures, the shot."""

from ._phases import TrebuchetFailure as TrebuchetFailure
from ._shot import Shot as Shot
from ._state import FOOT as FOOT
from ._state import POUND as POUND
from ._state import Constants as Constants
from ._state import ShotSettings as ShotSettings
from ._state import TrebuchetState as TrebuchetState
from ._state import degrees as degrees
from ._state import pounds as pounds
from ._trebuchet import Trebuchet as Trebuchet
