"""The operators that malt's generated code calls, lowered to JAX.

malt rewrites `if`/`for`/`while` (and `break`, `continue`, early `return`, which it
turns into flags and loop tests) into calls such as `ag__.if_stmt(cond, body, orelse,
get_state, set_state, names, nouts)`. Each operator here keeps Python semantics when
its condition or bounds are Python values, and stages `lax.cond` or a lax loop when
they are traced.
"""

import contextlib
import contextvars
import dataclasses
from collections.abc import Callable

import equinox as eqx
import equinox.internal as eqxi
import jax
import jax.extend as jex
import jax.numpy as jnp
import numpy as np
from jax import lax
from malt.impl import api as malt_api
from malt.operators import function_wrappers
from malt.operators.variables import UndefinedReturnValue

from ._errors import AutographError, add_note, user_location
from ._state import (
    Aval,
    Spec,
    conform_all,
    display_name,
    flatten,
    is_traced,
    join_specs,
    unflatten,
)


@dataclasses.dataclass(frozen=True)
class Options:
    max_steps: int | None = None
    loop_kind: str = "bounded"
    checkpoints: int = 32
    # Names of the (possibly nested) functions whose body ends in `return`/`raise`, so
    # that no path falls off the end, whatever a traced `do_return` flag says.
    returns_at_end: frozenset = frozenset()


_OPTIONS = contextvars.ContextVar("difsci_autograph_options", default=Options())


@contextlib.contextmanager
def use_options(options: Options):
    token = _OPTIONS.set(options)
    try:
        yield
    finally:
        _OPTIONS.reset(token)


# Errors that mean "this body needs concrete Python values": a loop over a static
# range may then run as a Python loop instead, which is exact.
_NEEDS_PYTHON = (
    AutographError,
    jax.errors.ConcretizationTypeError,
    jax.errors.TracerIntegerConversionError,
    jax.errors.TracerBoolConversionError,
    jax.errors.TracerArrayConversionError,
    UnboundLocalError,
    TypeError,
    IndexError,
)


class _ContainerMutated(AutographError):
    pass


# ---------------------------------------------------------------------------------------
# Helpers


def _predicate(cond, where: str) -> jax.Array:
    cond = jnp.asarray(cond)
    if cond.size != 1:
        raise AutographError(
            f"The condition of the {where} is an array of shape {cond.shape}; its truth "
            "value is ambiguous. Reduce it with jnp.any / jnp.all first."
        )
    cond = cond.reshape(())
    return cond if cond.dtype == jnp.bool_ else cond != 0


class _WatchContainers:
    """Snapshot the lists, dicts and sets that some functions close over.

    A staged block is traced once, so appending to a Python list inside it cannot mean
    what it means in Python: `check` undoes any change and reports it.
    """

    def __init__(self, fns: list[Callable]):
        self.watched = {}
        for fn in fns:
            for cell in getattr(fn, "__closure__", None) or ():
                try:
                    obj = cell.cell_contents
                except ValueError:  # an empty cell
                    continue
                if isinstance(obj, (list, dict, set)) and id(obj) not in self.watched:
                    self.watched[id(obj)] = (obj, obj.copy())

    def restore(self) -> list[str]:
        """Undo changes; return the types of the containers that had changed."""
        mutated = []
        for obj, snapshot in self.watched.values():
            if isinstance(obj, list):
                same = len(obj) == len(snapshot) and all(a is b for a, b in zip(obj, snapshot))
            elif isinstance(obj, dict):
                same = obj.keys() == snapshot.keys() and all(obj[k] is snapshot[k] for k in obj)
            else:
                same = obj == snapshot
            if not same:
                mutated.append(type(obj).__name__)
                obj.clear()
                if isinstance(obj, list):
                    obj.extend(snapshot)
                else:
                    obj.update(snapshot)
        return mutated

    def check(self, where: str) -> None:
        mutated = self.restore()
        if mutated:
            raise _ContainerMutated(
                f"The {where} changes a Python {mutated[0]} (e.g. `.append`) under a traced "
                "condition or loop. A staged block runs once at trace time, so the "
                "container would not follow the data: carry an array instead (e.g. "
                "preallocate with jnp.zeros and write with .at[i].set), or make the "
                "condition/bounds static."
            )


@dataclasses.dataclass
class _Traced:
    closed: jex.core.ClosedJaxpr
    specs: tuple[Spec, ...]

    target_aval: Aval | None = None

    def __call__(self, *args):
        return jex.core.jaxpr_as_fun(self.closed)(*args)


def _trace(fn, in_avals: list[Aval]) -> _Traced:
    """Trace `fn(*arrays) -> (specs, arrays)` once into a closed jaxpr."""
    box = []

    def run(*args):
        specs, arrays = fn(*args)
        box.append(specs)
        return [jnp.asarray(a) for a in arrays]

    closed = jax.make_jaxpr(run)(*[jax.ShapeDtypeStruct(a.shape, a.dtype, weak_type=a.weak_type) for a in in_avals])
    return _Traced(closed, box[0])


def _avals(specs: tuple[Spec, ...]) -> list[Aval]:
    return [value for spec in specs if not spec.is_undefined for kind, value in spec.leaves if kind == "array"]


def _error_if(values, pred, message: str):
    """`eqx.error_if` that also survives reverse mode.

    Under `grad` the primal outputs of a loop are often dead code, and with them a plain
    `eqx.error_if` on them. So the tangents are scaled by a checked 1.0: a residual the
    backward pass needs, which keeps the check alive.
    """

    @jax.custom_jvp
    def checked(values, pred):
        return eqx.error_if(values, pred, message)

    @checked.defjvp
    def checked_jvp(primals, tangents):
        values, pred = primals
        scale = eqx.error_if(jnp.ones(()), pred, message)

        def scaled(t):
            if t.dtype == jax.dtypes.float0:
                return t
            return t * scale.astype(t.dtype)

        return checked(values, pred), jax.tree.map(scaled, tangents[0])

    return checked(values, pred)


# ---------------------------------------------------------------------------------------
# Conditionals


def _staged_cond(pred, branches: list[Callable[[], tuple]], names: tuple, where: str) -> tuple:
    """`lax.cond` over `branches` (each returning the values of `names`)."""
    pred = _predicate(pred, where)
    traced = [_trace(lambda branch=branch: flatten(branch()), []) for branch in branches]
    out_specs = tuple(
        join_specs(name, [t.specs[i] for t in traced], where, fill_undefined=name == "retval_")
        for i, name in enumerate(names)
    )

    def as_branch(t: _Traced):
        return lambda: conform_all(t.specs, t(), out_specs)

    arrays = lax.cond(pred, as_branch(traced[0]), as_branch(traced[1]))
    return unflatten(out_specs, arrays)


def _staged_if(cond, body, orelse, get_state, set_state, names, where: str) -> None:
    init = get_state()
    containers = _WatchContainers([body, orelse])

    def run(block):
        def branch():
            set_state(init)
            block()
            return get_state()

        return branch

    try:
        values = _staged_cond(cond, [run(body), run(orelse)], names, where)
        containers.check(where)
    except Exception as e:
        set_state(init)
        containers.restore()
        if not isinstance(e, AutographError):
            add_note(e, f"(raised while tracing both branches of the {where}; its condition is traced)")
        raise
    set_state(values)


def if_stmt(cond, body, orelse, get_state, set_state, symbol_names, nouts):
    """`if cond: body() else: orelse()`; a `lax.cond` when `cond` is traced."""
    del nouts
    if is_traced(cond):
        _staged_if(cond, body, orelse, get_state, set_state, symbol_names, f"`if` at {user_location(2)}")
    elif cond:
        body()
    else:
        orelse()




def if_exp(cond, if_true, if_false, expr_repr):
    """`if_true() if cond else if_false()`; a `lax.cond` when `cond` is traced."""
    if not is_traced(cond):
        return if_true() if cond else if_false()
    where = f"conditional expression `{expr_repr}` at {user_location(2)}"
    (value,) = _staged_cond(cond, [lambda: (if_true(),), lambda: (if_false(),)], ("value",), where)
    return value


def not_(a):
    if is_traced(a):
        return jnp.logical_not(_predicate(a, f"`not` at {user_location(2)}"))
    return not a


def and_(a, b):
    a = a()
    if is_traced(a):
        where = f"`and` at {user_location(2)}"
        return jnp.logical_and(_predicate(a, where), _predicate(b(), where))
    if not a:
        return a
    return b()


def or_(a, b):
    a = a()
    if is_traced(a):
        where = f"`or` at {user_location(2)}"
        return jnp.logical_or(_predicate(a, where), _predicate(b(), where))
    if a:
        return a
    return b()


# ---------------------------------------------------------------------------------------
# Loops


class TracedRange:
    """`range(...)` with a traced bound: only usable as the iterable of a `for` loop."""

    def __init__(self, start, stop, step):
        self.start, self.stop, self.step = start, stop, step

    def length(self) -> jax.Array:
        start, stop, step = (jnp.asarray(v) for v in (self.start, self.stop, self.step))
        step = eqx.error_if(step, step == 0, "range() arg 3 must not be zero")
        up = (stop - start + step - 1) // step
        down = (start - stop - step - 1) // (-step)
        return jnp.maximum(jnp.where(step > 0, up, down), 0)

    def __iter__(self):
        raise AutographError(
            f"`range` with a traced bound at {user_location(2)} can only drive a `for` "
            "loop in an autographed function, not be iterated or converted otherwise."
        )


def _range(*args):
    if any(is_traced(a) for a in args):
        if len(args) == 1:
            return TracedRange(0, args[0], 1)
        if len(args) == 2:
            return TracedRange(args[0], args[1], 1)
        return TracedRange(*args)
    return range(*args)


def _counter() -> jax.Array:
    return jnp.asarray(0)  # weakly typed, like a Python int


@dataclasses.dataclass
class _LoopSpec:
    """What differs between the kinds of loop."""

    where: str
    length: int | jax.Array | None  # static, traced, or unknown (`while`)
    target_of: Callable | None  # iteration counter -> loop target (None for `while`)
    scan_xs: jax.Array | None = None  # iterate over these rows (`for x in array`)


def _run_python_loop(iterable, extra_test, body, get_state, set_state, names, where):
    """A Python `for` loop whose `break`/`return` may depend on traced values."""
    for target in iterable:
        go = True if extra_test is None else extra_test()
        if is_traced(go):
            _staged_if(go, lambda t=target: body(t), lambda: None, get_state, set_state, names, where)
        elif not go:
            break
        else:
            body(target)


def _trace_body(loop: _LoopSpec, body, get_state, set_state, names, init):
    """Trace one iteration until the carried variables' types settle."""
    specs, _ = flatten(init)
    if loop.scan_xs is not None:
        target = jax.ShapeDtypeStruct(loop.scan_xs.shape[1:], loop.scan_xs.dtype)
    elif loop.target_of is not None:
        target = jax.eval_shape(loop.target_of, _counter())
    else:
        target = jax.eval_shape(_counter)
    target_aval = Aval(tuple(target.shape), np.dtype(target.dtype), bool(target.weak_type))

    def run(target, *arrays):
        set_state(unflatten(specs, arrays))
        if loop.target_of is None:
            body()
        else:
            body(target)
        return flatten(get_state())

    for _ in range(8):
        traced = _trace(run, [target_aval, *_avals(specs)])
        traced.target_aval = target_aval
        set_state(init)
        new_specs = tuple(
            join_specs(name, [specs[i], traced.specs[i]], loop.where, fill_undefined=True)
            for i, name in enumerate(names)
        )
        if new_specs == specs:
            return specs, traced
        specs = new_specs
    raise AutographError(f"The types of the variables carried by the {loop.where} do not settle.")


def _ad_mode(values) -> str | None:
    """Best effort: which autodiff transforms these values right now?

    `"reverse"` if any value is being linearized (`grad`, `vjp`), else `"forward"` if any
    carries a JVP tangent (`jvp`, `jacfwd`), else None. Values traced by a `jit` that sits
    inside the transform (`grad(jit(f))`, `jvp(jit(f))`) show no sign of it and give None.
    """
    stack, seen, mode = list(jax.tree_util.tree_leaves(values)), 0, None
    while stack and seen < 10_000:
        x, seen = stack.pop(), seen + 1
        if isinstance(x, jax.core.Tracer):
            kind = type(x).__name__
            if kind == "LinearizeTracer":
                return "reverse"
            if kind == "JVPTracer":
                mode = "forward"
            stack.extend(v for v in (getattr(x, "primal", None), getattr(x, "val", None)) if v is not None)
    return mode


def _staged_loop(loop: _LoopSpec, test, body, get_state, set_state, names):
    """Run `body` under a lax loop. `test() -> bool` (or None) guards each iteration."""
    init = get_state()
    options = _OPTIONS.get()
    containers = _WatchContainers([body] + ([test] if test is not None else []))
    try:
        specs, traced = _trace_body(loop, body, get_state, set_state, names, init)
        containers.check(loop.where)
    except Exception as e:
        set_state(init)
        containers.restore()
        if not isinstance(e, AutographError):
            add_note(e, f"(raised while tracing the body of the {loop.where} as a lax loop)")
        raise
    init_specs, init_arrays = flatten(init)
    carry0 = conform_all(init_specs, init_arrays, specs)

    def step(target, arrays):
        return conform_all(traced.specs, traced(traced.target_aval.cast(target), *arrays), specs)

    def keep_going(k, arrays) -> jax.Array:
        go = jnp.asarray(True)
        if loop.length is not None:
            go = k < loop.length
        if test is not None:
            set_state(unflatten(specs, arrays))
            try:
                go = go & _predicate(test(), loop.where)
            finally:
                set_state(init)
        return go

    if test is None and isinstance(loop.length, int):
        # A fixed number of steps: a plain scan, reverse-differentiable.
        if loop.scan_xs is not None:
            arrays, _ = lax.scan(lambda c, x: (step(x, c), None), carry0, loop.scan_xs)
        else:

            def scan_body(carry, _):
                k, arrays = carry
                return (k + 1, step(loop.target_of(k), arrays)), None

            (_, arrays), _ = lax.scan(scan_body, (_counter(), carry0), None, length=loop.length)
        set_state(unflatten(specs, arrays))
        return

    def cond_fun(carry):
        k, arrays = carry
        return keep_going(k, arrays)

    def body_fun(carry):
        k, arrays = carry
        if loop.target_of is None:
            target = k
        elif loop.scan_xs is not None:
            target = loop.scan_xs[k]
        else:
            target = loop.target_of(k)
        return k + 1, step(target, arrays)

    carry = (_counter(), carry0)
    if isinstance(loop.length, int):
        k, arrays = eqxi.while_loop(cond_fun, body_fun, carry, max_steps=loop.length, kind="bounded")
    elif options.max_steps is None:
        mode = _ad_mode((carry0, traced.closed.consts, loop.length))
        if options.loop_kind == "lax" and mode == "reverse":
            raise AutographError(
                f"Reverse-mode differentiation through the {loop.where} does not work with "
                "loop_kind='lax': use the default loop kind, or @autograph(max_steps=N)."
            )
        if options.loop_kind == "lax" or mode == "forward":
            # Equinox's checkpointed loop is a custom_vjp, which forward mode cannot enter.
            k, arrays = lax.while_loop(cond_fun, body_fun, carry)
        else:
            # Online checkpointing (Stumm & Walther 2010): reverse mode with no bound on the
            # trip count, in memory for `checkpoints` carries.
            k, arrays = eqxi.while_loop(
                cond_fun, body_fun, carry, max_steps=None, kind="checkpointed", checkpoints=options.checkpoints
            )
    else:
        k, arrays = eqxi.while_loop(cond_fun, body_fun, carry, max_steps=options.max_steps, kind=options.loop_kind)
        exceeded = (k >= options.max_steps) & keep_going(k, arrays)
        arrays = _error_if(
            arrays,
            exceeded,
            f"The {loop.where} did not finish within max_steps={options.max_steps} "
            "iterations. Raise `max_steps` in @autograph(max_steps=...).",
        )
    first_assigned = [
        name for name, before, after in zip(names, init_specs, specs)
        if before.is_undefined and not after.is_undefined and name != "retval_"
    ]
    if first_assigned and not isinstance(loop.length, int):
        arrays = _error_if(
            arrays,
            k == 0,
            f"The {loop.where} ran zero times, so {display_name(first_assigned[0])} (first "
            "assigned inside it) has no value. Assign it before the loop.",
        )
    set_state(unflatten(specs, arrays))


def _staged_or_python(loop: _LoopSpec, iterable, extra_test, body, get_state, set_state, names):
    if loop.length == 0:
        return
    init = get_state()
    try:
        _staged_loop(loop, extra_test, body, get_state, set_state, names)
    except _NEEDS_PYTHON:
        # The body needs a concrete loop index (e.g. indexes a Python list) or changes
        # Python values: with a static trip count it runs as Python, which is exact.
        set_state(init)
        _run_python_loop(iterable, extra_test, body, get_state, set_state, names, loop.where)


def for_stmt(iter_, extra_test, body, get_state, set_state, symbol_names, opts):
    """`for target in iter_: body(target)` (`extra_test()` False stops the loop)."""
    del opts
    where = f"`for` loop at {user_location(2)}"
    if isinstance(iter_, range):
        loop = _LoopSpec(where, len(iter_), lambda k: iter_.start + k * iter_.step)
        _staged_or_python(loop, iter_, extra_test, body, get_state, set_state, symbol_names)
    elif isinstance(iter_, TracedRange):
        loop = _LoopSpec(where, iter_.length(), lambda k: iter_.start + k * iter_.step)
        _staged_loop(loop, extra_test, body, get_state, set_state, symbol_names)
    elif isinstance(iter_, jax.Array) and iter_.ndim >= 1:
        loop = _LoopSpec(where, iter_.shape[0], lambda k: iter_[k], scan_xs=iter_)
        _staged_or_python(loop, iter_, extra_test, body, get_state, set_state, symbol_names)
    else:
        _run_python_loop(iter_, extra_test, body, get_state, set_state, symbol_names, where)


def while_stmt(test, body, get_state, set_state, symbol_names, opts):
    """`while test(): body()`; a lax loop from the first iteration whose test is traced."""
    del opts
    while True:
        go = test()
        if is_traced(go):
            loop = _LoopSpec(f"`while` loop at {user_location(2)}", None, None)
            _staged_loop(loop, test, body, get_state, set_state, symbol_names)
            return
        if not go:
            return
        body()


# ---------------------------------------------------------------------------------------
# Calls, asserts and returns


def converted_call(f, args, kwargs, caller_fn_scope=None, options=None):
    """Call `f` (unconverted: decorate helpers with `autograph` to convert them)."""
    if f is range and not kwargs:
        return _range(*args)
    return malt_api.converted_call(f, args, kwargs, caller_fn_scope, options)


def assert_stmt(expression1, expression2):
    if is_traced(expression1):
        raise AutographError(
            f"`assert` on a traced value at {user_location(2)}: its truth is only known "
            "at run time. Use `ds.check(...)` or `eqx.error_if(...)` instead."
        )
    if not expression1:
        raise AssertionError(expression2())


class FunctionScope(function_wrappers.FunctionScope):
    def __init__(self, function_name, scope_name, options):
        super().__init__(function_name, scope_name, options)
        self.function_name = function_name

    def ret(self, value, did_return):
        if isinstance(value, UndefinedReturnValue):
            return None
        if is_traced(did_return) and self.function_name not in _OPTIONS.get().returns_at_end:
            # A path that falls off the end would return None, which no array can hold.
            value = _error_if(
                value,
                jnp.logical_not(did_return),
                f"autographed function reached its end without `return` at {user_location(2)}",
            )
        return value


OPERATORS = {
    "if_stmt": if_stmt,
    "if_exp": if_exp,
    "not_": not_,
    "and_": and_,
    "or_": or_,
    "for_stmt": for_stmt,
    "while_stmt": while_stmt,
    "converted_call": converted_call,
    "assert_stmt": assert_stmt,
    "FunctionScope": FunctionScope,
}
