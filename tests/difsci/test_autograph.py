"""`autograph`: converted control flow against plain Python, gradients, vmap, errors."""

import re

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from difsci._autograph import AutographError, autograph

from ..helpers import finite_difference_grad, tree_allclose

THIS_FILE = re.escape(__file__)


# --- Plain Python functions, each with one construct (converted in the tests) ---------


def piecewise(x):
    if x < -1.0:
        y = -x * x
    elif x < 1.0:
        y = x
    else:
        y = jnp.sqrt(x)
    return y * 2.0


def ternary_and_not(x):
    return x * x if x > 0 and not x > 2 else -x


def top_level_return(x):
    if x > 0:
        return x * 3.0
    return -x


def static_range(x):
    s = x
    for i in range(4):
        s = jnp.sin(s) * (i + 1)
    return s


def traced_range(x, n):
    s = x
    for i in range(n):
        s = s * 1.5 + i
    return s


def array_rows(xs):
    acc = 0.0
    for row in xs:
        acc = acc + jnp.sum(row * row)
    return acc


def newton_sqrt(a):
    x = a
    while jnp.abs(x * x - a) > 1e-12:
        x = 0.5 * (x + a / x)
    return x


def for_break(x):
    s = 0.0
    for i in range(10):
        if s > 5.0:
            break
        s = s + x * i
    return s


def for_continue(x):
    s = 0.0
    for i in range(6):
        if i % 3 == 0:
            continue
        s = s + x**2 * i
    return s


def while_break(x):
    k = 0
    while k < 100:
        x = x * 1.3
        k += 1
        if x > 10.0:
            break
    return x, k


def nested_loops(x):
    s = 0.0
    for i in range(4):
        for j in range(4):
            if j > i:
                break
            s = s + x * (i + 1) / (j + 1)
    return s


def loop_return(x):
    s = x
    for i in range(1, 8):
        if s > 20.0:
            return s - i
        s = s * 2.0
    return -s


def python_list_index(x):
    weights = [1.0, 2.0, 3.0]
    for i in range(3):
        x = x * weights[i]
    return x


def python_list_append(x):
    outs = []
    for i in range(3):
        x = jnp.sin(x) + i
        outs.append(x)
    return jnp.stack(outs)


def assigned_in_loop(x):
    for i in range(3):
        y = x * i
    return y


def count_doublings(x):
    n = 0
    while x < 100.0:
        x = x * 2.0
        n += 1
    return n


# (function, argument tuples); every argument tuple is run eagerly, under jit and vs Python.
CASES = [
    (piecewise, [(-2.0,), (0.5,), (4.0,)]),
    (ternary_and_not, [(1.0,), (3.0,), (-1.0,)]),
    (top_level_return, [(2.0,), (-2.0,)]),
    (static_range, [(0.3,)]),
    (traced_range, [(1.0, 3), (1.0, 0)]),
    (array_rows, [(np.arange(6.0).reshape(3, 2),)]),
    (newton_sqrt, [(2.0,), (9.0,)]),
    (for_break, [(0.5,), (0.01,)]),
    (for_continue, [(1.5,)]),
    (while_break, [(1.0,), (0.001,)]),
    (nested_loops, [(1.0,)]),
    (loop_return, [(1.0,), (30.0,), (1e-3,)]),
    (python_list_index, [(1.0,)]),
    (python_list_append, [(0.5,)]),
    (assigned_in_loop, [(2.0,)]),
    (count_doublings, [(1.0,), (200.0,)]),
]


@pytest.mark.parametrize("fn, arg_list", CASES, ids=[fn.__name__ for fn, _ in CASES])
def test_matches_plain_python(fn, arg_list):
    converted = autograph(fn)
    jitted = jax.jit(converted)
    for args in arg_list:
        expected = fn(*args)
        assert tree_allclose(converted(*args), expected, rtol=1e-12, atol=1e-12)
        assert tree_allclose(jitted(*args), expected, rtol=1e-12, atol=1e-12)


# Scalar functions of x for the derivative checks (points away from the branch seams).
GRAD_CASES = [
    (piecewise, [-2.0, 0.5, 4.0]),
    (ternary_and_not, [1.0, -1.0]),
    (top_level_return, [2.0, -2.0]),
    (static_range, [0.3]),
    (newton_sqrt, [2.0, 9.0]),
    (for_break, [0.45]),
    (for_continue, [1.5]),
    (nested_loops, [1.0]),
    (loop_return, [1.0, 30.0]),
    (python_list_index, [1.0]),
    (assigned_in_loop, [2.0]),
]


@pytest.mark.parametrize("fn, points", GRAD_CASES, ids=[fn.__name__ for fn, _ in GRAD_CASES])
def test_gradients(fn, points):
    converted = autograph(fn, max_steps=64)
    reverse = jax.jit(jax.grad(converted))
    forward = jax.jit(lambda x: jax.jvp(converted, (x,), (jnp.ones_like(x),))[1])
    for x in points:
        x = jnp.asarray(x)
        eager_plain = jax.grad(fn)(x)  # plain Python differentiates eagerly
        fd = finite_difference_grad(converted, x)
        assert np.allclose(reverse(x), eager_plain, rtol=1e-10, atol=1e-12)
        assert np.allclose(forward(x), eager_plain, rtol=1e-10, atol=1e-12)
        assert np.allclose(reverse(x), fd, rtol=1e-6, atol=1e-8)


def test_gradient_through_traced_range():
    converted = autograph(traced_range, max_steps=16)
    grad = jax.jit(jax.grad(converted))
    for n in (0, 1, 5):
        assert np.allclose(grad(1.0, n), jax.grad(traced_range)(1.0, n), rtol=1e-12)


def test_gradient_through_array_rows():
    xs = jnp.arange(6.0).reshape(3, 2) / 4
    g = jax.jit(jax.grad(autograph(array_rows)))(xs)
    assert np.allclose(g, 2 * xs)


def test_checkpointed_loop_kind():
    converted = autograph(newton_sqrt, max_steps=64, loop_kind="checkpointed")
    assert np.allclose(jax.jit(jax.grad(converted))(2.0), 0.5 / np.sqrt(2.0), rtol=1e-12)


@pytest.mark.parametrize("fn", [piecewise, newton_sqrt, for_break, while_break, loop_return])
def test_vmap_equals_loop(fn):
    converted = autograph(fn, max_steps=128)
    xs = jnp.array([-2.0, 0.01, 0.5, 3.0, 30.0]) if fn is piecewise else jnp.array([0.01, 0.5, 3.0, 30.0])
    batched = jax.jit(jax.vmap(converted))(xs)
    looped = [converted(x) for x in xs]
    assert tree_allclose(batched, jax.tree.map(lambda *v: jnp.stack(v), *looped), rtol=1e-12)
    grads = jax.jit(jax.vmap(jax.grad(lambda x: jnp.sum(jnp.asarray(jax.tree.leaves(converted(x))[0])))))(xs)
    assert np.allclose(grads, [jax.grad(lambda x: jax.tree.leaves(fn(x))[0])(x) for x in xs], rtol=1e-10)


def test_static_control_flow_stays_python():
    def f(x, flag, layers):
        if flag:
            x = x + 1.0
        for w in layers:
            x = x * w
        return x

    jaxpr = jax.make_jaxpr(autograph(f), static_argnums=(1, 2))(1.0, True, (2.0, 3.0))
    names = {eqn.primitive.name for eqn in jaxpr.jaxpr.eqns}
    assert not names & {"cond", "while", "scan"}
    assert autograph(f)(1.0, False, (2.0,)) == 2.0


def test_strict_dtype_promotion():
    with jax.numpy_dtype_promotion("strict"):
        x32 = jnp.float32(0.7)
        assert autograph(static_range)(x32).dtype == jnp.float32
        assert jax.jit(autograph(for_break))(x32).dtype == jnp.float32
        assert np.allclose(jax.jit(jax.grad(autograph(piecewise)))(jnp.float64(4.0)), 0.5)


# --- max_steps --------------------------------------------------------------------------


def test_max_steps_exceeded_is_reported():
    converted = jax.jit(autograph(newton_sqrt, max_steps=3))
    with pytest.raises(Exception, match=r"did not finish within max_steps=3"):
        jax.block_until_ready(converted(2.0))
    with pytest.raises(Exception, match=r"max_steps=3"):
        jax.block_until_ready(jax.jit(jax.grad(autograph(newton_sqrt, max_steps=3)))(2.0))
    # Enough steps: no error, and a traced range within the bound is fine too.
    assert np.allclose(jax.jit(autograph(newton_sqrt, max_steps=10))(2.0), np.sqrt(2.0))
    ranged = jax.jit(autograph(traced_range, max_steps=4))
    assert np.allclose(ranged(1.0, 4), traced_range(1.0, 4))
    with pytest.raises(Exception, match=r"max_steps=4"):
        jax.block_until_ready(ranged(1.0, 5))


# --- unbounded loops under reverse mode (online checkpointing) --------------------------


def drift(x):
    # About 150 iterations, their number set by x: more than the checkpoints kept.
    s = x
    n = 0.0
    while s < 30.0:
        s = s + 0.15 + 0.05 * jnp.sin(s * x)
        n = n + 1.0
    return s * jnp.cos(0.1 * x) + 0.01 * n


@pytest.mark.parametrize("fn, x", [(newton_sqrt, 2.0), (drift, 0.7)])
def test_unbounded_loop_reverse_mode(fn, x):
    converted = autograph(fn, checkpoints=4)
    bounded_grad = jax.jit(jax.grad(autograph(fn, max_steps=512)))
    bounded = bounded_grad(x)
    fd = finite_difference_grad(converted, jnp.asarray(x))
    for grad in (jax.jit(jax.grad(converted)), jax.grad(jax.jit(converted))):
        assert np.allclose(grad(x), bounded, rtol=1e-10, atol=1e-12)
    assert np.allclose(bounded, fd, rtol=1e-6, atol=1e-8)
    if fn is newton_sqrt:
        return  # vmap of the same loop is checked on drift
    xs = jnp.array([x, 1.3 * x])
    batched = jax.jit(jax.vmap(jax.grad(converted)))(xs)
    assert np.allclose(batched, [bounded_grad(v) for v in xs], rtol=1e-10)


def test_unbounded_loop_forward_mode():
    converted = autograph(drift)
    want = finite_difference_grad(converted, jnp.asarray(0.7))
    forward = jax.jit(lambda x: jax.jvp(converted, (x,), (jnp.ones_like(x),))[1])
    assert np.allclose(forward(0.7), want, rtol=1e-6)
    assert np.allclose(jax.jit(jax.jacfwd(converted))(0.7), want, rtol=1e-6)
    lax_kind = autograph(drift, loop_kind="lax")
    assert np.allclose(jax.jvp(jax.jit(lax_kind), (0.7,), (1.0,))[1], want, rtol=1e-6)
    assert not np.isclose(jax.jvp(jax.jit(lax_kind), (0.7,), (1.0,))[1], 0.0)


def test_lax_loop_kind_reverse_mode_names_the_loop():
    with pytest.raises(AutographError, match=rf"`while` loop at {THIS_FILE}:\d+.*loop_kind='lax'"):
        jax.jit(jax.grad(autograph(newton_sqrt, loop_kind="lax")))(2.0)
    # Eagerly the test is concrete at every step, so the loop stays Python and differentiates.
    assert np.allclose(jax.grad(autograph(newton_sqrt, loop_kind="lax"))(2.0), 0.5 / np.sqrt(2.0))


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_bad_checkpoints(bad):
    with pytest.raises(ValueError, match="`checkpoints` must be a positive int"):
        autograph(newton_sqrt, checkpoints=bad)


def test_lax_loop_kind_needs_unbounded():
    with pytest.raises(ValueError, match="loop_kind='lax'.*max_steps=None"):
        autograph(newton_sqrt, max_steps=8, loop_kind="lax")


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_bad_max_steps(bad):
    with pytest.raises(ValueError, match="max_steps"):
        autograph(newton_sqrt, max_steps=bad)


# --- Unsupported constructs and misuse: errors naming file:line ------------------------


def for_else(x):
    for i in range(3):
        x = x + i
    else:
        x = -x
    return x


def while_else(x):
    while x < 3:
        x = x + 1
    else:
        x = -x
    return x


def generator(x):
    yield x


def match_statement(x):
    match x:
        case 0:
            return 1.0
    return x


@pytest.mark.parametrize(
    "fn, construct",
    [(for_else, "for ... else"), (while_else, "while ... else"), (generator, "yield"), (match_statement, "match")],
)
def test_unsupported_syntax(fn, construct):
    with pytest.raises(AutographError, match=rf"{THIS_FILE}:\d+: `{re.escape(construct)}"):
        autograph(fn)


def test_unreadable_source():
    with pytest.raises(AutographError, match="source code"):
        autograph(eval("lambda x: x"))


def traced_assert(x):
    assert x > 0
    return x


def one_branch_only(x):
    if x > 0:
        y = x
    return y


def growing(x):
    while jnp.sum(x) < 10.0:
        x = jnp.concatenate([x, x])
    return x


def append_under_traced_if(x):
    found = []
    if x > 0:
        found.append(x)
    return x


def vector_condition(x):
    if x > 0:
        x = -x
    return x


def range_as_list(n):
    return jnp.asarray(list(range(n)))


@pytest.mark.parametrize(
    "fn, arg, message",
    [
        (traced_assert, 1.0, r"`assert` on a traced value at {file}:\d+"),
        (one_branch_only, 1.0, r"`y` is assigned on only some paths of the `if` at {file}:\d+"),
        (growing, jnp.ones(2), r"`x` changes shape \(\(2,\) vs \(4,\)\) in the `while` loop at {file}:\d+"),
        (append_under_traced_if, 1.0, r"`if` at {file}:\d+ .*changes a Python list"),
        (vector_condition, jnp.ones(3), r"`if` at {file}:\d+ .* shape \(3,\)"),
        (range_as_list, 3, r"`range` with a traced bound at {file}:\d+"),
    ],
)
def test_staging_errors(fn, arg, message):
    with pytest.raises(AutographError, match=message.format(file=THIS_FILE)):
        jax.jit(autograph(fn))(arg)


def maybe_falls_off(x):
    for i in range(3):
        if x > i:
            return x


def assigned_in_traced_loop(x, n):
    for i in range(n):
        y = x * i
    return y


def test_run_time_errors():
    f = jax.jit(autograph(maybe_falls_off))
    assert f(2.0) == 2.0
    with pytest.raises(Exception, match="reached its end without `return`"):
        jax.block_until_ready(f(-1.0))
    g = jax.jit(autograph(assigned_in_traced_loop))
    assert g(2.0, 3) == 4.0
    with pytest.raises(Exception, match="ran zero times, so `y`"):
        jax.block_until_ready(g(2.0, 0))


def int_of_traced(x):
    k = 0
    k = int(x)
    return k


def test_jax_errors_name_the_user_line():
    with pytest.raises(jax.errors.ConcretizationTypeError) as info:
        jax.jit(autograph(int_of_traced))(1.0)
    assert any(re.search(rf"{THIS_FILE}:\d+ \(`k = int\(x\)`\)", note) for note in info.value.__notes__)


# --- Composition ------------------------------------------------------------------------


def test_forward_mode_through_unbounded_while():
    tangent = jax.jit(lambda x: jax.jvp(autograph(newton_sqrt), (x,), (jnp.ones_like(x),))[1])
    assert np.allclose(tangent(2.0), 0.5 / np.sqrt(2.0), rtol=1e-12)


def test_vmap_over_traced_bounds():
    converted = autograph(traced_range, max_steps=8)
    xs, ns = jnp.array([1.0, 2.0, 3.0]), jnp.array([0, 2, 5])
    assert np.allclose(jax.vmap(converted)(xs, ns), [traced_range(x, int(n)) for x, n in zip(xs, ns)])
    grads = jax.jit(jax.vmap(jax.grad(converted)))(xs, ns)
    assert np.allclose(grads, [jax.grad(traced_range)(x, int(n)) for x, n in zip(xs, ns)])


class Scaled(eqx.Module):
    weight: jax.Array

    @autograph
    def __call__(self, x):
        if x > 0:
            return self.weight * x
        return -x


@autograph(max_steps=64)
def double_until_ten(x):
    while x < 10.0:
        x = x * 2.0
    return x


@autograph
def calls_autographed(x):
    if x > 0:
        y = double_until_ten(x)
    else:
        y = x
    return y


def test_methods_and_nested_autographed_functions():
    call = jax.jit(lambda module, x: module(x))
    module = Scaled(jnp.asarray(3.0))
    assert call(module, 2.0) == 6.0 and call(module, -2.0) == 2.0
    assert jax.jit(jax.grad(lambda m, x: m(x)))(module, 2.0).weight == 2.0
    assert jax.jit(calls_autographed)(1.5) == 12.0 and jax.jit(calls_autographed)(-1.0) == -1.0
    assert jax.jit(jax.grad(calls_autographed))(1.5) == 8.0


def append_in_while(x):
    outs = []
    while x < 10.0:
        x = x * 2.0
        outs.append(x)
    return x


def test_python_list_in_traced_loop_is_an_error():
    with pytest.raises(AutographError, match=rf"`while` loop at {THIS_FILE}:\d+ .*changes a Python list"):
        jax.jit(autograph(append_in_while))(1.0)
