"""Errors raised by `autograph`, and where in the user's source they point."""

import sys

from malt.pyct import origin_info


class AutographError(ValueError):
    """A construct that `autograph` cannot convert, or a staged control-flow misuse.

    The message names the construct and its `file:line` in the user's source.
    """


# Generated-module filename -> malt source map (generated line -> original line).
_SOURCE_MAPS: dict[str, dict] = {}


def register_source_map(source_map: dict) -> None:
    for loc in source_map:
        _SOURCE_MAPS.setdefault(loc.filename, source_map)


def user_location(skip: int = 1) -> str:
    """`file:line (source)` of the innermost converted user code on the call stack."""
    frame = sys._getframe(skip)
    while frame is not None:
        source_map = _SOURCE_MAPS.get(frame.f_code.co_filename)
        if source_map is not None:
            origin = source_map.get(origin_info.LineLocation(frame.f_code.co_filename, frame.f_lineno))
            if origin is not None:
                line = origin.source_code_line.strip()
                return f"{origin.loc.filename}:{origin.loc.lineno} (`{line}`)"
        frame = frame.f_back
    return "<unknown location>"


def add_note(error: BaseException, note: str) -> None:
    """Attach context to an error raised by user code while it was being traced."""
    if hasattr(error, "add_note"):  # Python >= 3.11
        error.add_note(note)
