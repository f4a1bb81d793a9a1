"""The variables a staged `if` or loop carries: flattening them to arrays and back.

A converted block reads and writes a tuple of Python variables (malt's `get_state` /
`set_state`). Under `lax.cond` or a lax loop only arrays can flow, so each variable is
split into its pytree structure, its array leaves (which flow), its Python-scalar
leaves (which stay Python while every path agrees on them, and become arrays
otherwise) and its other leaves (strings, functions, ...: which must not change).
"""

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from malt.operators.variables import Undefined, UndefinedReturnValue

from ._errors import AutographError


def is_undefined(value) -> bool:
    return isinstance(value, (Undefined, UndefinedReturnValue))


def is_traced(value) -> bool:
    return any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree_util.tree_leaves(value))


def display_name(name: str) -> str:
    if name == "retval_":
        return "the return value"
    return f"`{name}`"


def _is_python_scalar(leaf) -> bool:
    return isinstance(leaf, (bool, int, float, complex, np.generic))


def _is_array(leaf) -> bool:
    return isinstance(leaf, (jax.Array, np.ndarray))


@dataclasses.dataclass(frozen=True)
class Aval:
    """Shape, dtype and weak type of one array leaf."""

    shape: tuple[int, ...]
    dtype: Any
    weak_type: bool

    @classmethod
    def of(cls, x) -> "Aval":
        if not isinstance(x, (jax.Array, np.ndarray)):
            x = jnp.asarray(x)  # a Python scalar: weakly typed, as JAX treats it
        if isinstance(x, jax.Array):
            t = jax.typeof(x)
            return cls(tuple(t.shape), np.dtype(t.dtype), bool(t.weak_type))
        return cls(tuple(x.shape), np.dtype(x.dtype), False)

    def zeros(self) -> jax.Array:
        if self.weak_type:
            return jnp.full(self.shape, self._python_type()(0))
        return jnp.zeros(self.shape, self.dtype)

    def cast(self, x) -> jax.Array:
        x = x if isinstance(x, jax.Array) else jnp.asarray(x)
        t = jax.typeof(x)
        if t.dtype == self.dtype and (self.weak_type or not t.weak_type):
            return x
        if self.weak_type and t.weak_type:
            # A weak int joined with a weak float stays weak, as `i + 0.0` does in JAX.
            y = x + self._python_type()(0)
            if y.dtype == self.dtype:
                return y
        return lax.convert_element_type(x, self.dtype)

    def _python_type(self):
        return {"b": bool, "i": int, "u": int, "f": float, "c": complex}[self.dtype.kind]


def _stand_in(aval: Aval):
    """What `jnp.result_type` should see for a leaf: weak leaves act as Python scalars."""
    return aval._python_type() if aval.weak_type else aval.dtype


def join_avals(avals: list[Aval], name: str, where: str) -> Aval:
    """The type that holds every one of `avals` (the variable `name` at `where`)."""
    first = avals[0]
    if any(a.shape != first.shape for a in avals):
        shapes = " vs ".join(str(a.shape) for a in avals)
        raise AutographError(
            f"{display_name(name)} changes shape ({shapes}) in the {where}. Staged control "
            "flow needs every variable to keep one shape on all paths and iterations: "
            "pad to a fixed shape, or keep the control flow on Python values."
        )
    if all(a == first for a in avals):
        return first
    try:
        dtype = np.dtype(jnp.result_type(*[_stand_in(a) for a in avals]))
    except Exception as e:  # jax's TypePromotionError under strict promotion
        dtypes = " vs ".join(str(a.dtype) for a in avals)
        raise AutographError(
            f"{display_name(name)} has different dtypes ({dtypes}) in the {where} and they "
            f"do not promote ({e}). Cast it explicitly so every path gives one dtype."
        ) from None
    return Aval(first.shape, dtype, all(a.weak_type for a in avals))


class Leaf:
    """Kinds of leaf in a `Spec`."""

    ARRAY = "array"  # flows through lax; `value` is its Aval
    SCALAR = "scalar"  # a Python scalar all paths agree on; `value` is the scalar
    STATIC = "static"  # any other Python object; must be the same object on all paths


@dataclasses.dataclass(frozen=True)
class Spec:
    """How one variable is laid out: undefined, or a treedef with typed leaves."""

    undefined: Any = None  # the malt Undefined object when the variable has no value
    treedef: Any = None
    leaves: tuple = ()  # tuple of (Leaf kind, value)

    @property
    def is_undefined(self) -> bool:
        return self.undefined is not None

    def num_arrays(self) -> int:
        return sum(kind == Leaf.ARRAY for kind, _ in self.leaves)


def spec_of(value) -> tuple[Spec, list]:
    """The Spec of `value` and its array leaves (in order)."""
    if is_undefined(value):
        return Spec(undefined=value), []
    leaves, treedef = jax.tree_util.tree_flatten(value)
    kinds, arrays = [], []
    for leaf in leaves:
        if _is_array(leaf):
            kinds.append((Leaf.ARRAY, Aval.of(leaf)))
            arrays.append(leaf)
        elif _is_python_scalar(leaf):
            kinds.append((Leaf.SCALAR, leaf))
        else:
            kinds.append((Leaf.STATIC, leaf))
    return Spec(treedef=treedef, leaves=tuple(kinds)), arrays


def flatten(values: tuple) -> tuple[tuple[Spec, ...], list]:
    specs, arrays = [], []
    for value in values:
        spec, leaves = spec_of(value)
        specs.append(spec)
        arrays.extend(leaves)
    return tuple(specs), arrays


def unflatten(specs: tuple[Spec, ...], arrays) -> tuple:
    arrays = iter(arrays)
    values = []
    for spec in specs:
        if spec.is_undefined:
            values.append(spec.undefined)
            continue
        leaves = [next(arrays) if kind == Leaf.ARRAY else value for kind, value in spec.leaves]
        values.append(jax.tree_util.tree_unflatten(spec.treedef, leaves))
    return tuple(values)


def _same_object(a, b) -> bool:
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    try:
        return bool(a == b)
    except Exception:
        return False


def _scalar_equal(a, b) -> bool:
    return type(a) is type(b) and bool(np.all(a == b)) and np.shape(a) == np.shape(b)


def _scalar_aval(x) -> Aval:
    if isinstance(x, np.generic):
        return Aval((), np.dtype(x.dtype), False)
    return Aval.of(jnp.asarray(x))


def join_specs(name: str, specs: list[Spec], where: str, *, fill_undefined: bool) -> Spec:
    """The Spec that holds `name`'s value from every path (branch or iteration).

    `fill_undefined`: whether a path on which the variable is undefined may take the
    other paths' layout (filled with zeros), as for the return value or a variable
    first assigned inside a loop. Otherwise a partly-undefined variable is an error.
    """
    defined = [s for s in specs if not s.is_undefined]
    if not defined:
        return specs[0]
    if len(defined) < len(specs) and not fill_undefined:
        raise AutographError(
            f"{display_name(name)} is assigned on only some paths of the {where} but is "
            "used after it. With a traced condition every path must leave it defined: "
            "give it a value before the statement (or on every path)."
        )
    first = defined[0]
    for other in defined[1:]:
        if other.treedef != first.treedef:
            raise AutographError(
                f"{display_name(name)} has a different structure on different paths of the "
                f"{where} ({first.treedef} vs {other.treedef}). Staged control flow needs "
                "one pytree structure on every path."
            )
    leaves = []
    for i, (kind, value) in enumerate(first.leaves):
        column = [s.leaves[i] for s in defined]
        kinds = {k for k, _ in column}
        if kinds == {Leaf.STATIC}:
            if not all(_same_object(value, v) for _, v in column):
                raise AutographError(
                    f"{display_name(name)} holds a Python value of type "
                    f"{type(value).__name__} that differs between paths of the {where}. "
                    "Only arrays and numbers can change under staged control flow."
                )
            leaves.append((Leaf.STATIC, value))
        elif Leaf.STATIC in kinds:
            raise AutographError(
                f"{display_name(name)} mixes a Python object and an array across paths of the {where}."
            )
        elif kinds == {Leaf.SCALAR} and all(_scalar_equal(value, v) for _, v in column):
            leaves.append((Leaf.SCALAR, value))
        else:
            avals = [v if k == Leaf.ARRAY else _scalar_aval(v) for k, v in column]
            leaves.append((Leaf.ARRAY, join_avals(avals, name, where)))
    return Spec(treedef=first.treedef, leaves=tuple(leaves))


def array_avals(spec: Spec) -> list[Aval]:
    return [value for kind, value in spec.leaves if kind == Leaf.ARRAY]


def conform(value_spec: Spec, value_arrays: list, target: Spec) -> list:
    """The array leaves of a value with `value_spec`, laid out and cast as `target` wants."""
    if target.is_undefined:
        return []
    if value_spec.is_undefined:
        return [aval.zeros() for aval in array_avals(target)]
    arrays = iter(value_arrays)
    out = []
    for (kind, value), (target_kind, target_value) in zip(value_spec.leaves, target.leaves):
        if target_kind != Leaf.ARRAY:
            if kind == Leaf.ARRAY:
                next(arrays)
            continue
        source = next(arrays) if kind == Leaf.ARRAY else value
        out.append(target_value.cast(source))
    return out


def conform_all(specs: tuple[Spec, ...], arrays: list, targets: tuple[Spec, ...]) -> list:
    arrays = iter(arrays)
    out = []
    for spec, target in zip(specs, targets):
        mine = [next(arrays) for _ in range(spec.num_arrays())] if not spec.is_undefined else []
        out.extend(conform(spec, mine, target))
    return out
