"""K-FAC for multilayer perceptrons: Kronecker-factored natural-gradient steps, as optax.

For a dense layer `s = W a + b`, write `W~ = [W b]` and `a~ = [a; 1]`. The layer's block of
the Fisher, `E[vec(g a~^T) vec(g a~^T)^T]` with `g = d(-log p(y|x))/ds` for `y` drawn from the
model's own predictive distribution, is approximated by the Kronecker product
`A (x) G` of `A = E[a~ a~^T]` and `G = E[g g^T]` (Martens & Grosse 2015), so that

    (A (x) G + damping I)^-1 vec(dL/dW~)  ~  vec((G + gamma_G I)^-1 dL/dW~ (A + gamma_A I)^-1),

with factored Tikhonov damping `gamma_A = pi sqrt(damping)`, `gamma_G = sqrt(damping) / pi`
and `pi^2 = (tr A / dim A) / (tr G / dim G)` (their section 6.3). `A` and `G` are running
averages over steps. Step size and momentum are chosen by the damped quadratic model with
the batch's exact Fisher, and the damping adapted by Levenberg-Marquardt (sections 6.5, 7).
The factors need the layer inputs and output gradients, which only the network's forward
pass sees; so this module knows `eqx.nn.MLP`'s structure, and `kfac_curvature` measures
them on a batch for `kfac` to use.

This is difsci's own implementation, not an adapter to `kfac-jax`: kfac-jax 0.0.8 (the
release pip finds) fails under JAX 0.10 (its graph tracer calls a changed JAX internal, and
importing it emits deprecation warnings), and it would bring in TensorFlow Probability and
distrax. Limitations: dense layers of a non-scanned `eqx.nn.MLP` only; one Fisher block
per layer (no cross-layer terms); factors inverted every step (fine for layers of hundreds
of units); a step costs about three forward and two backward passes plus two JVPs.
"""

from collections.abc import Callable
from typing import Literal, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import optax
from jax.scipy.linalg import cho_factor, cho_solve
from jaxtyping import Array, Float, Int, PRNGKeyArray, PyTree

Likelihood = Literal["gaussian", "categorical"]


class KroneckerFactors(eqx.Module):
    """One dense layer's Fisher block `A (x) G`.

    **Fields:** `inputs`, `A = E[a~ a~^T]` of shape `(in [+1 with a bias], same)`;
    `output_gradients`, `G = E[g g^T]` of shape `(out, out)`.
    """

    inputs: Float[Array, "i i"]
    output_gradients: Float[Array, "o o"]


class KFACState(NamedTuple):
    """`kfac`'s state: step count, running factors (one per dense layer), current damping,
    and the previous update (for momentum)."""

    count: Int[Array, ""]
    factors: tuple[KroneckerFactors, ...]
    damping: Float[Array, ""]
    previous_update: PyTree


def _dense_layers(mlp, caller: str) -> tuple[eqx.nn.Linear, ...]:
    if not isinstance(mlp, eqx.nn.MLP):
        raise TypeError(f"{caller}: expected an eqx.nn.MLP (or its parameters from eqx.partition), got {type(mlp).__name__}")
    if mlp.scan:
        raise ValueError(f"{caller}: an eqx.nn.MLP built with scan=True stacks its layers; build it with scan=False")
    return tuple(mlp.layers)


def _factor_sizes(layer: eqx.nn.Linear) -> tuple[int, int]:
    out_size, in_size = layer.weight.shape
    return in_size + (layer.bias is not None), out_size


def _forward(mlp: eqx.nn.MLP, x: Array, probes: tuple[Array, ...]) -> tuple[Array, tuple[Array, ...]]:
    """`mlp(x)` for one example, with `probes[i]` added to layer `i`'s output; also its inputs."""
    layers = mlp.layers
    inputs = []
    h = x
    for i, layer in enumerate(layers):
        a = jnp.reshape(h, (-1,))
        inputs.append(a)
        s = layer.weight @ a + probes[i]
        if layer.bias is not None:
            s = s + layer.bias
        if i < len(layers) - 1:
            # As eqx.nn.MLP does: layer i's activation, per neuron.
            activation = jax.tree_util.tree_map(lambda p: p[i] if eqx.is_array(p) else p, mlp.activation)
            h = eqx.filter_vmap(lambda f, v: f(v))(activation, s)
        elif mlp.out_size == "scalar":
            h = mlp.final_activation(s[0])
        else:
            h = eqx.filter_vmap(lambda f, v: f(v))(mlp.final_activation, s)
    return h, tuple(inputs)


def _check_likelihood(likelihood, caller):
    if likelihood not in ("gaussian", "categorical"):
        raise ValueError(f"{caller}: `likelihood` must be 'gaussian' or 'categorical', got {likelihood!r}")


def mlp_loss(
    mlp: eqx.nn.MLP, x: Float[Array, "n ..."], y: Array, *, likelihood: Likelihood = "gaussian"
) -> Float[Array, ""]:
    """The mean negative log-likelihood of a batch under the MLP, up to a constant.

    `"gaussian"`: `mean_n ||mlp(x_n) - y_n||^2 / 2` (unit noise; `y` shaped as the outputs).
    `"categorical"`: `mean_n -log softmax(mlp(x_n))[y_n]` (`y` integer labels of shape `(n,)`).
    """
    _check_likelihood(likelihood, "mlp_loss")
    out = jax.vmap(mlp)(x)
    if likelihood == "gaussian":
        return 0.5 * jnp.mean(jnp.sum(jnp.reshape(out - y, (out.shape[0], -1)) ** 2, axis=-1))
    return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(out, y))


def kfac_curvature(
    mlp: eqx.nn.MLP, x: Float[Array, "n ..."], key: PRNGKeyArray, *, likelihood: Likelihood = "gaussian"
) -> tuple[KroneckerFactors, ...]:
    """The Kronecker factors of each dense layer's Fisher block, measured on a batch `x`.

    Targets are drawn from the model's predictive distribution (`likelihood`, as in
    `mlp_loss`), one per example, so this estimates the true Fisher (not the empirical one).

    **Returns:** one `KroneckerFactors` per layer, input to output.
    """
    _check_likelihood(likelihood, "kfac_curvature")
    layers = _dense_layers(mlp, "kfac_curvature")
    n = x.shape[0]
    probes = tuple(jnp.zeros((n, layer.weight.shape[0]), layer.weight.dtype) for layer in layers)
    forward = jax.vmap(_forward, in_axes=(None, 0, 0))
    out, pullback, inputs = jax.vjp(lambda p: forward(mlp, x, p), probes, has_aux=True)
    if likelihood == "gaussian":
        # y = out + eps, so d(-log p)/d out = out - y = -eps.
        sampled = -jax.random.normal(key, out.shape, out.dtype)
    else:
        if out.ndim != 2:
            raise ValueError("kfac_curvature: likelihood='categorical' needs a vector of logits per example")
        labels = jax.random.categorical(key, out)
        sampled = jax.nn.softmax(out) - jax.nn.one_hot(labels, out.shape[-1], dtype=out.dtype)
    (output_gradients,) = pullback(sampled)
    factors = []
    for layer, a, g in zip(layers, inputs, output_gradients):
        if layer.bias is not None:
            a = jnp.concatenate([a, jnp.ones((n, 1), a.dtype)], axis=-1)
        factors.append(KroneckerFactors(inputs=a.T @ a / n, output_gradients=g.T @ g / n))
    return tuple(factors)


def _precondition(layer_grad: eqx.nn.Linear, factors: KroneckerFactors, damping: Array) -> eqx.nn.Linear:
    has_bias = layer_grad.bias is not None
    grad = layer_grad.weight
    if has_bias:
        grad = jnp.concatenate([grad, layer_grad.bias[:, None]], axis=-1)
    a, g = factors.inputs, factors.output_gradients
    tiny = jnp.finfo(grad.dtype).tiny
    pi = jnp.sqrt((jnp.trace(a) / a.shape[0] + tiny) / (jnp.trace(g) / g.shape[0] + tiny))
    root = jnp.sqrt(damping)
    a_chol = cho_factor(a + pi * root * jnp.eye(a.shape[0], dtype=a.dtype), lower=True)
    g_chol = cho_factor(g + root / pi * jnp.eye(g.shape[0], dtype=g.dtype), lower=True)
    step = cho_solve(a_chol, cho_solve(g_chol, grad).T).T  # (G + gG I)^-1 grad (A + gA I)^-1
    if has_bias:
        return eqx.tree_at(lambda l: (l.weight, l.bias), layer_grad, (step[:, :-1], step[:, -1]))
    return eqx.tree_at(lambda l: l.weight, layer_grad, step)


def _dot(u: PyTree, v: PyTree) -> Array:
    return sum(jnp.vdot(a, b) for a, b in zip(jax.tree_util.tree_leaves(u), jax.tree_util.tree_leaves(v)))


def _combine(coefficients, vectors):
    return jax.tree_util.tree_map(lambda *leaves: sum(c * x for c, x in zip(coefficients, leaves)), *vectors)


def _solve_coefficients(gram, linear, fixed):
    """Minimise `c^T linear + c^T gram c / 2` over the entries of `c` that `fixed` leaves as None.

    Without a previous update (the first step) its coefficient is 0.
    """
    tiny = jnp.finfo(gram.dtype).tiny
    no_previous = gram[1, 1] <= tiny
    alpha, mu = fixed
    if alpha is None and mu is None:
        safe = jnp.where(no_previous, jnp.diag(jnp.stack([gram[0, 0], jnp.ones((), gram.dtype)])), gram)
        rhs = jnp.where(no_previous, jnp.stack([-linear[0], jnp.zeros((), gram.dtype)]), -linear)
        return jnp.linalg.solve(safe, rhs)
    if alpha is None:
        alpha = -(linear[0] + gram[0, 1] * mu) / gram[0, 0]
    elif mu is None:
        mu = jnp.where(no_previous, 0.0, -(linear[1] + gram[1, 0] * alpha) / jnp.where(no_previous, 1.0, gram[1, 1]))
    return jnp.stack([jnp.asarray(alpha, gram.dtype), jnp.asarray(mu, gram.dtype)])


_NEEDS = "ds.optimizers.kfac_step passes them all"


def kfac(
    learning_rate: float | optax.Schedule | None = None,
    *,
    momentum: float | None = None,
    damping: float = 1e-3,
    decay: float = 0.95,
    adapt_damping: bool = True,
    min_damping: float = 1e-4,
) -> optax.GradientTransformationExtraArgs:
    """K-FAC (Martens & Grosse 2015) for an `eqx.nn.MLP`, as an optax transformation.

    Each step preconditions the gradient `g` by the damped Kronecker-factored Fisher,
    `D = (F~ + damping)^-1 g`, and moves by `delta = -alpha D + mu delta_prev`. Each factor is
    averaged over steps with weight `min(decay, 1 - 1/k)` on the past at step `k`. Gradients
    other than dense weights and biases (parameterised activations) are not preconditioned.

    With `learning_rate=None` and/or `momentum=None` (the defaults), `alpha` and/or `mu` are
    chosen each step to minimise the damped quadratic model
    `M(delta) = g^T delta + delta^T (F + damping I) delta / 2` with the exact Fisher `F` of the
    batch (their section 7). With `adapt_damping`, every 5 steps the damping is multiplied by
    `(19/20)^5` if the loss fell by more than 3/4 of what `M` predicted, and divided by it if
    by less than 1/4 (Levenberg-Marquardt, their section 6.5).

    `update(grads, state, params, *, curvature, fisher_gram, value, value_fn)` needs
    `curvature=kfac_curvature(...)` always, and for the automatic parts `fisher_gram(vectors)`
    (the Gram matrix `v_i^T F v_j` of a tuple of parameter-shaped vectors), `value` (the
    loss now) and `value_fn(params)` (the loss at other parameters, same batch);
    `kfac_step` passes them all.

    **Arguments:**
    - `learning_rate`: `alpha > 0`, an optax schedule, or None (automatic).
    - `momentum`: `mu` in `[0, 1)`, or None (automatic).
    - `damping`: `> 0`, the (initial) Tikhonov damping `lambda` added to the Fisher.
    - `decay`: in `[0, 1)`, the factors' running average's weight on the past.
    - `adapt_damping`, `min_damping`: the adaptation above, and the floor it keeps to. The
      floor guards minibatch training, where the quadratic model is fitted to one batch and
      too little damping lets a step overfit it.

    Reference: J. Martens & R. Grosse (2015), "Optimizing neural networks with
    Kronecker-factored approximate curvature", ICML.
    """
    if learning_rate is not None and not callable(learning_rate) and not float(learning_rate) > 0:
        raise ValueError(f"kfac: `learning_rate` must be > 0 (or None for automatic), got {learning_rate!r}")
    if momentum is not None and not 0 <= momentum < 1:
        raise ValueError(f"kfac: `momentum` must lie in [0, 1) (or None for automatic), got {momentum!r}")
    if not damping > 0:
        raise ValueError(f"kfac: `damping` must be > 0 (it keeps the factors invertible), got {damping!r}")
    if not 0 <= decay < 1:
        raise ValueError(f"kfac: `decay` must lie in [0, 1), got {decay!r}")
    if not 0 < min_damping <= damping:
        raise ValueError(f"kfac: `min_damping` must lie in (0, damping={damping!r}], got {min_damping!r}")
    needs_model = learning_rate is None or momentum is None or adapt_damping

    def init(params: PyTree) -> KFACState:
        factors = []
        for layer in _dense_layers(params, "kfac"):
            i, o = _factor_sizes(layer)
            dtype = layer.weight.dtype
            factors.append(KroneckerFactors(jnp.zeros((i, i), dtype), jnp.zeros((o, o), dtype)))
        dtype = params.layers[0].weight.dtype
        return KFACState(
            count=jnp.zeros((), jnp.int32),
            factors=tuple(factors),
            damping=jnp.asarray(damping, dtype),
            previous_update=jax.tree_util.tree_map(jnp.zeros_like, eqx.filter(params, eqx.is_inexact_array)),
        )

    def update(updates, state, params=None, *, curvature=None, fisher_gram=None, value=None, value_fn=None, **extra_args):
        del extra_args
        if curvature is None:
            raise ValueError(
                "kfac: `curvature=` is required by update; pass "
                f"curvature=ds.optimizers.kfac_curvature(mlp, x, key, likelihood=...) of the batch ({_NEEDS})"
            )
        if needs_model and (fisher_gram is None or value is None or value_fn is None or params is None):
            raise ValueError(
                "kfac: with learning_rate=None, momentum=None or adapt_damping=True, update needs "
                f"`params`, `fisher_gram=`, `value=` and `value_fn=` ({_NEEDS})"
            )
        layers = _dense_layers(updates, "kfac")
        if len(curvature) != len(layers):
            raise ValueError(
                f"kfac: `curvature` has {len(curvature)} layers' factors but the MLP has {len(layers)} dense layers"
            )
        count = state.count + 1
        weight = jnp.minimum(decay, 1.0 - 1.0 / count)
        factors = jax.tree_util.tree_map(lambda old, new: weight * old + (1 - weight) * new, state.factors, tuple(curvature))
        lam = state.damping
        direction = eqx.tree_at(
            lambda m: m.layers, updates, tuple(_precondition(l, f, lam) for l, f in zip(layers, factors))
        )
        direction = eqx.filter(direction, eqx.is_inexact_array)
        grads = eqx.filter(updates, eqx.is_inexact_array)
        previous = state.previous_update
        rate = learning_rate(state.count) if callable(learning_rate) else learning_rate
        fixed = (None if rate is None else -rate, momentum)
        if needs_model:
            vectors = (direction, previous)
            dots = jnp.array([[_dot(u, v) for v in vectors] for u in vectors])
            gram = jnp.asarray(fisher_gram(vectors)) + lam * dots
            linear = jnp.stack([_dot(grads, v) for v in vectors])
            coefficients = _solve_coefficients(gram, linear, fixed)
        else:
            coefficients = jnp.stack([jnp.asarray(-rate), jnp.asarray(momentum)])
        step = _combine(coefficients, (direction, previous))
        if adapt_damping:
            predicted = coefficients @ linear + 0.5 * coefficients @ gram @ coefficients
            actual = value_fn(eqx.apply_updates(params, step)) - value
            ratio = actual / predicted
            factor = (19.0 / 20.0) ** 5
            new_lam = jnp.where(ratio > 0.75, lam * factor, jnp.where((ratio < 0.25) | ~jnp.isfinite(ratio), lam / factor, lam))
            lam = jnp.where(count % 5 == 0, jnp.clip(new_lam, min_damping, 1e8), lam)
        return step, KFACState(count=count, factors=factors, damping=lam, previous_update=step)

    return optax.GradientTransformationExtraArgs(init, update)


def _fisher_gram(mlp, x, likelihood, vectors):
    params, static = eqx.partition(mlp, eqx.is_inexact_array)
    outputs = lambda p: jax.vmap(eqx.combine(p, static))(x)  # noqa: E731
    out = None
    tangents = []
    for v in vectors:
        out, tangent = jax.jvp(outputs, (params,), (v,))
        tangents.append(tangent.reshape(out.shape[0], -1))
    n = out.shape[0]
    if likelihood == "gaussian":
        hessian = lambda u, w: jnp.sum(u * w) / n  # noqa: E731
    else:
        probs = jax.nn.softmax(out)
        hessian = lambda u, w: (jnp.sum(probs * u * w) - jnp.sum(jnp.sum(probs * u, -1) * jnp.sum(probs * w, -1))) / n  # noqa: E731
    return jnp.array([[hessian(u, w) for w in tangents] for u in tangents])


def kfac_step(
    mlp: eqx.nn.MLP,
    opt_state: KFACState,
    optimizer: optax.GradientTransformationExtraArgs,
    x: Float[Array, "n ..."],
    y: Array,
    key: PRNGKeyArray,
    *,
    likelihood: Likelihood = "gaussian",
    loss_fn: Callable[[eqx.nn.MLP, Array, Array], Float[Array, ""]] | None = None,
) -> tuple[eqx.nn.MLP, KFACState, Float[Array, ""]]:
    """One `kfac` step on the batch `(x, y)`: returns `(mlp, opt_state, loss before the step)`.

    Pure: `eqx.filter_jit` it or scan it. `key` draws the targets of the Fisher estimate.
    `loss_fn(mlp, x, y)` defaults to `mlp_loss(..., likelihood=likelihood)`; a custom one
    (say, with weight decay) should keep that likelihood, which the curvature assumes.
    `opt_state` comes from `optimizer.init(eqx.filter(mlp, eqx.is_inexact_array))`.
    """
    _check_likelihood(likelihood, "kfac_step")
    if loss_fn is None:
        loss_fn = lambda m, xb, yb: mlp_loss(m, xb, yb, likelihood=likelihood)  # noqa: E731
    params, static = eqx.partition(mlp, eqx.is_inexact_array)
    value_fn = lambda p: loss_fn(eqx.combine(p, static), x, y)  # noqa: E731
    loss, grads = jax.value_and_grad(value_fn)(params)
    updates, opt_state = optimizer.update(
        grads,
        opt_state,
        params,
        curvature=kfac_curvature(mlp, x, key, likelihood=likelihood),
        fisher_gram=lambda vectors: _fisher_gram(mlp, x, likelihood, vectors),
        value=loss,
        value_fn=value_fn,
    )
    return eqx.apply_updates(mlp, updates), opt_state, loss
