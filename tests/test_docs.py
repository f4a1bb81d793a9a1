"""The documentation site covers the API: every public name of the four packages has a
docstring of its own and an entry in docs/api/, and every example is in the gallery."""

import ast
import importlib
import inspect
import re
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
PACKAGES = ("difsci", "physics", "render", "models")


def public_names(package) -> list[str]:
    names = getattr(package, "__all__", None)
    if names is None:
        names = [n for n in vars(package) if not n.startswith("_")]
    return sorted(names)


def api_entries(package_name: str) -> set[str]:
    page = (ROOT / "docs" / "api" / f"{package_name}.md").read_text()
    return set(re.findall(rf"^::: {package_name}\.(\w+)\s*$", page, re.M))


def own_docstring(obj) -> str | None:
    """The docstring written on `obj` itself, read from its source (a dataclass's generated
    `Name(field, ...)` signature and an inherited docstring do not count)."""
    if isinstance(obj, types.ModuleType):
        return obj.__doc__
    obj = inspect.unwrap(getattr(obj, "__wrapped__", obj))  # eqx.filter_jit and functools.wraps
    tree = ast.parse(Path(inspect.getsourcefile(obj)).read_text())
    line = inspect.getsourcelines(obj)[1]
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == obj.__name__:
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            if first <= line <= node.lineno:
                return ast.get_docstring(node)
    raise AssertionError(f"cannot find the definition of {obj!r}")


@pytest.mark.parametrize("package_name", PACKAGES)
def test_every_public_name_has_an_api_entry(package_name):
    package = importlib.import_module(package_name)
    names, entries = set(public_names(package)), api_entries(package_name)
    assert not names - entries, f"add `::: {package_name}.NAME` to docs/api/{package_name}.md for {sorted(names - entries)}"
    assert not entries - names, f"docs/api/{package_name}.md lists names {package_name} does not export: {sorted(entries - names)}"


@pytest.mark.parametrize("package_name", PACKAGES)
def test_every_public_name_has_a_docstring(package_name):
    package = importlib.import_module(package_name)
    assert (package.__doc__ or "").strip()
    missing = []
    for name in public_names(package):
        obj = getattr(package, name)
        if isinstance(obj, (int, float, str, tuple)):
            continue  # constants (physics.POUND, physics.MODES) are described on their package's page
        if not (own_docstring(obj) or "").strip():
            missing.append(name)
    assert not missing, f"{package_name}: public names without a docstring: {missing}"


def test_own_docstring_sees_through_dataclass_signatures():
    import equinox as eqx

    class Bare(eqx.Module):
        x: float

    class Documented(eqx.Module):
        """A documented module."""

        x: float

    assert Bare.__doc__  # the dataclass machinery writes "Bare(x: float)"; that is no docstring
    assert own_docstring(Bare) is None
    assert own_docstring(Documented) == "A documented module."


def test_every_example_is_in_the_gallery_with_its_command():
    gallery = (ROOT / "docs" / "examples.md").read_text()
    missing = [p.stem for p in sorted((ROOT / "examples").glob("*.py")) if f"python examples/{p.name}" not in gallery]
    assert not missing, f"add a section with the command to docs/examples.md for {missing}"
    for image in re.findall(r"\]\((images/[^)]+)\)", gallery):
        assert (ROOT / "docs" / image).is_file(), image
