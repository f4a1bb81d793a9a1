"""Tsitouras' 5(4) Runge-Kutta step with its stages written out.

diffrax runs the stages of any Runge-Kutta method as a loop over a stage buffer (it keeps
compile time flat across methods), which on CPU costs a buffer update and a small
matrix product per stage. The simulators here solve 6-dimensional states, often vmapped over
thousands of shots, where that bookkeeping cost more than the equations of motion. This
solver takes diffrax's own Tsit5 tableau and interpolation, so it is the same method step for
step (tests/physics/test_tsit5.py), with the seven stages unrolled into straight-line code.
"""

import diffrax as dfx
import equinox.internal as eqxi
import jax
import jax.numpy as jnp
import jax.tree_util as jtu


def _combine(y0, coefficients, ks):
    """y0 + sum_j coefficients[j] * ks[j] (pytrees), skipping zero coefficients."""
    terms = [(float(a), k) for a, k in zip(coefficients, ks) if a != 0]
    return jtu.tree_map(lambda y, *k: y + sum(a * kj for (a, _), kj in zip(terms, k)), y0, *[k for _, k in terms])


class Tsit5(dfx.Tsit5):
    """`diffrax.Tsit5` with unrolled stages: same steps, same dense output, less overhead."""

    def step(self, terms, t0, t1, y0, args, solver_state, made_jump):
        tableau = self.tableau
        first_step, f0 = solver_state
        # FSAL: f0 is the last stage of the previous step, except on the first step or after a
        # jump, where it is evaluated (for every lane of a vmap that needs it, as diffrax does).
        stale = first_step if made_jump is False else first_step | made_jump
        f0 = jax.lax.cond(
            eqxi.unvmap_any(stale),
            lambda: jtu.tree_map(lambda new, old: jnp.where(stale, new, old), terms.vf(t0, y0, args), f0),
            lambda: f0,
        )
        control = terms.contr(t0, t1)
        dt = t1 - t0
        ks = [terms.prod(f0, control)]
        f = f0
        for c, a in zip(tableau.c, tableau.a_lower):
            y = _combine(y0, a, ks)
            f = terms.vf(t0 + float(c) * dt, y, args)
            ks.append(terms.prod(f, control))
        # The last stage is evaluated at the solution (ssal), so its field is the next f0.
        y1 = y if tableau.ssal else _combine(y0, tableau.b_sol, ks)
        y_error = _combine(jtu.tree_map(jnp.zeros_like, y0), tableau.b_error, ks)
        dense_info = dict(y0=y0, y1=y1, k=jtu.tree_map(lambda *k: jnp.stack(k), *ks))
        return y1, y_error, dense_info, (jnp.array(False), f), dfx.RESULTS.successful
