"""`autograph`: native Python control flow that jits, vmaps and differentiates."""

import ast
import functools
import inspect
import textwrap
import types
from collections.abc import Callable
from typing import Literal, TypeVar

from malt.core import converter
from malt.impl import api as malt_api
from malt.pyct import origin_info

from ._errors import AutographError, _SOURCE_MAPS, add_note, register_source_map
from ._operators import OPERATORS, Options, use_options

_F = TypeVar("_F", bound=Callable)


class _Transpiler(malt_api.PyToPy):
    """malt's AutoGraph conversion, with difsci's JAX operators as `ag__`."""

    def get_extra_locals(self):
        if self._extra_locals is None:
            base = super().get_extra_locals()["ag__"]
            module = types.ModuleType("difsci_autograph_operators")
            module.__dict__.update(base.__dict__)
            module.__dict__.update(OPERATORS)
            self._extra_locals = {"ag__": module}
        return self._extra_locals


_TRANSPILER = _Transpiler()
_OPTIONS = converter.ConversionOptions(
    recursive=False,
    user_requested=True,
    optional_features=(converter.Feature.ASSERT_STATEMENTS,),
)


class _UnsupportedSyntax(ast.NodeVisitor):
    """Constructs malt cannot convert, reported with their line before it tries."""

    def __init__(self, filename: str, line_offset: int):
        self.filename, self.line_offset = filename, line_offset

    def _fail(self, node, what: str):
        line = node.lineno + self.line_offset
        raise AutographError(f"{self.filename}:{line}: {what} is not supported inside an autographed function.")

    def visit_For(self, node):
        if node.orelse:
            self._fail(node, "`for ... else`")
        self.generic_visit(node)

    def visit_While(self, node):
        if node.orelse:
            self._fail(node, "`while ... else`")
        self.generic_visit(node)

    def visit_Yield(self, node):
        self._fail(node, "`yield` (a generator)")

    visit_YieldFrom = visit_Yield

    def visit_Await(self, node):
        self._fail(node, "`await`")

    def visit_AsyncFor(self, node):
        self._fail(node, "`async for`")

    def visit_AsyncWith(self, node):
        self._fail(node, "`async with`")

    def visit_AsyncFunctionDef(self, node):
        self._fail(node, "`async def`")

    def visit_Match(self, node):
        self._fail(node, "`match` (use `if`/`elif`)")

    def visit_Attribute(self, node):
        if node.attr.startswith("__") and not node.attr.endswith("__"):
            self._fail(node, f"the name-mangled attribute `.{node.attr}`")
        self.generic_visit(node)


def _check_syntax(fn: Callable) -> frozenset:
    """Reject unsupported syntax; return the names of functions that end in `return`."""
    try:
        source = textwrap.dedent(inspect.getsource(fn))
        filename = inspect.getsourcefile(fn) or "<unknown>"
    except (OSError, TypeError) as e:
        raise AutographError(
            f"autograph needs the source code of {fn!r} and cannot read it ({e}). Define "
            "the function in a .py file (not a REPL, `exec` or a lambda built at run time)."
        ) from None
    tree = ast.parse(source)
    _UnsupportedSyntax(filename, fn.__code__.co_firstlineno - 1).visit(tree)
    defs = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.Lambda))]
    ends = {}
    for node in defs:
        if isinstance(node, ast.Lambda):
            name, ok = "lambda_", True
        else:
            name, ok = node.name, isinstance(node.body[-1], (ast.Return, ast.Raise))
        ends[name] = ends.get(name, True) and ok
    return frozenset(name for name, ok in ends.items() if ok)


def _convert(fn: Callable) -> tuple[Callable, frozenset]:
    returns_at_end = _check_syntax(fn)
    program_ctx = converter.ProgramContext(options=_OPTIONS)
    try:
        converted, _, source_map = _TRANSPILER.transform(fn, program_ctx)
    except AutographError:
        raise
    except Exception as e:
        filename = inspect.getsourcefile(fn)
        raise AutographError(
            f"autograph could not convert `{fn.__qualname__}` ({filename}:"
            f"{fn.__code__.co_firstlineno}): {type(e).__name__}: {e}"
        ) from e
    register_source_map(source_map)
    return converted, returns_at_end


def _note_user_line(error: BaseException) -> None:
    """Name the user's line for an error raised inside converted code."""
    tb, where = error.__traceback__, None
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        source_map = _SOURCE_MAPS.get(filename)
        if source_map is not None:
            origin = source_map.get(origin_info.LineLocation(filename, tb.tb_lineno))
            if origin is not None:
                where = f"{origin.loc.filename}:{origin.loc.lineno} (`{origin.source_code_line.strip()}`)"
        tb = tb.tb_next
    if where is not None and not isinstance(error, AutographError):
        add_note(error, f"(in autographed code at {where})")


def autograph(
    fn: _F | None = None,
    *,
    max_steps: int | None = None,
    loop_kind: Literal["bounded", "checkpointed", "lax"] = "bounded",
    checkpoints: int = 32,
) -> _F:
    """Rewrite a function's Python control flow so it works under `jit`, `vmap` and `grad`.

    `if`/`elif`/`else`, conditional expressions, `and`/`or`/`not`, `for` over `range`
    or over the rows of an array, `while`, `break`, `continue` and `return` inside
    loops become `lax.cond` and lax loops wherever their condition or bounds are
    traced; on Python values they stay Python. A `for` over a static `range` (or an
    array) becomes a `lax.scan` (or, with `break`/`return`, a bounded loop of that
    many steps), and runs as a Python loop instead when its body needs a concrete
    index (e.g. indexes a Python list) or changes Python values.

    Loops whose trip count is only known at run time (`while` on a traced test, `for`
    over a traced `range`) become Equinox's online-checkpointed loop, which `jit`,
    `vmap` and reverse mode (`grad`) handle with no bound on the iterations and memory
    for `checkpoints` loop states; under forward mode (`jvp`, `jacfwd`) they become
    `lax.while_loop`. The choice is made when the loop is traced: forward mode applied
    *outside* a `jit` (`jvp(jit(f))`) is not visible then and fails ("can't apply
    forward-mode autodiff (jvp) to a custom_vjp function"); write `jit(jvp(f))`, or use
    `loop_kind="lax"`. With `max_steps` they become Equinox's bounded loop instead, which
    both modes differentiate; running past `max_steps` raises an error at run time
    (never a silent truncation).

    Only this function's own body (including functions defined inside it) is
    converted: decorate helpers that have traced control flow as well.

    **Arguments:**

    - `fn`: the function. Its source must be readable (`inspect.getsource`).
    - `max_steps`: bound on the iterations of each loop with a run-time trip count, or
        `None` (unbounded).
    - `loop_kind`: with `max_steps`, `"bounded"` (nested scans with checkpoints; forward
        and reverse mode) or `"checkpointed"` (Equinox's checkpointed loop; reverse mode
        only, less memory for large `max_steps`). `"lax"` (only with `max_steps=None`):
        always `lax.while_loop` (forward mode anywhere, no reverse mode).
    - `checkpoints`: for unbounded loops under reverse mode, how many loop states to keep;
        fewer use less memory and recompute more iterations on the backward pass.

    **Returns:** the converted function, called like `fn`.

    **Raises:** `AutographError` (a `ValueError`) naming `file:line` for constructs it
    cannot convert (`for`/`while ... else`, `yield`, `match`, `assert` on traced values,
    variables that change shape or Python type under traced control flow, Python lists
    appended to under a traced condition, ...).

    ```python
    @ds.autograph
    def newton_sqrt(a):
        x = a
        while jnp.abs(x * x - a) > 1e-12:
            x = 0.5 * (x + a / x)
        return x

    jax.grad(newton_sqrt)(2.0)  # 1 / (2 sqrt 2)
    ```
    """
    if max_steps is not None and (isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1):
        raise ValueError(f"`max_steps` must be a positive int or None (got {max_steps!r})")
    if loop_kind not in ("bounded", "checkpointed", "lax"):
        raise ValueError(f"`loop_kind` must be 'bounded', 'checkpointed' or 'lax' (got {loop_kind!r})")
    if loop_kind == "lax" and max_steps is not None:
        raise ValueError(f"`loop_kind='lax'` is for unbounded loops: it needs max_steps=None (got {max_steps!r})")
    if isinstance(checkpoints, bool) or not isinstance(checkpoints, int) or checkpoints < 1:
        raise ValueError(f"`checkpoints` must be a positive int (got {checkpoints!r})")
    if fn is None:
        return functools.partial(autograph, max_steps=max_steps, loop_kind=loop_kind, checkpoints=checkpoints)
    if not (inspect.isfunction(fn) or inspect.ismethod(fn)):
        raise TypeError(f"autograph expects a Python function (got {type(fn).__name__})")

    converted, returns_at_end = _convert(fn)
    options = Options(max_steps=max_steps, loop_kind=loop_kind, checkpoints=checkpoints,
                      returns_at_end=returns_at_end)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with use_options(options):
            try:
                return converted(*args, **kwargs)
            except Exception as e:
                _note_user_line(e)
                raise

    wrapper.__autograph_converted__ = converted
    return wrapper
