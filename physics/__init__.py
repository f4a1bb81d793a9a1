"""Differentiable simulators on diffrax: the trebuchet and the helpers to write your own."""

from ._solve import PhaseResult as PhaseResult
from ._solve import SolverSettings as SolverSettings
from ._solve import raise_on_failure as raise_on_failure
from ._solve import solve_phase as solve_phase
from ._solve import PhasesResult as PhasesResult
from ._solve import solve_phases as solve_phases
from ._aim import AimResult as AimResult
from ._aim import aim as aim
from ._demo import demo_aimed_shot as demo_aimed_shot
from ._plot import plot_shot as plot_shot
from ._cartpole import CartPole as CartPole
from ._pendulum import Pendulum as Pendulum
from ._projectile import Projectile as Projectile
from ._solve import rollout as rollout
from ._trebuchet import FOOT as FOOT
from ._trebuchet import POUND as POUND
from ._trebuchet import Shot as Shot
from ._trebuchet import Trebuchet as Trebuchet
from ._trebuchet import TrebuchetState as TrebuchetState
from ._trebuchet import degrees as degrees
from ._trebuchet import pounds as pounds
