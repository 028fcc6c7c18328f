"""The error family users see for bad input: one line each, never a traceback.

    NetcalcError                 every error netcalc raises for bad input
    +-- SpecError                a spec, space or lock file (or mapping) is invalid
    +-- ArgumentError            an argument of a Python function (or a CLI option) is invalid

``str(err)`` is one line: ``<source>: <field path>: <what is wrong>``, ready to print after
``error: ``. Both are ``ValueError``s; ``ArgumentError`` is also a ``TypeError`` (a wrong type
of argument), so existing ``except`` clauses keep working.

Messages of the Python API name parameters, never command-line options: a parameter that a
message mentions is written in backticks (```max_pieces```), which the API shows as the plain
name and the command line as the option (``--max-pieces``); see :func:`option_text`.
"""
from __future__ import annotations

import re
import unicodedata

_TICKED = re.compile(r"`([A-Za-z_][A-Za-z0-9_]*)`")
# parameters whose option is not --<name with dashes>
OPTION_OF = {"lo": "--from", "hi": "--to", "widths": "W1 W2 ...", "resolution": "--resolution"}


class NetcalcError(ValueError):
    """Base of every netcalc error about its input (specs, files, arguments)."""

    def __init__(self, source: str, field: str, message: str):
        self.source = source
        self.field = field
        self.message = message
        super().__init__(self._join(field, _TICKED.sub(r"\1", message)))

    def _join(self, field: str, message: str) -> str:
        return ": ".join(p for p in (self.source, field, message) if p)

    def cli_text(self) -> str:
        """The same line with option names where the API names parameters."""
        return safe_text(self._join(self.field, _TICKED.sub(lambda m: option_of(m.group(1)),
                                                           self.message)))


class SpecError(NetcalcError):
    """A spec (or a space or lock file) is invalid; ``source`` names the file (or ``<dict>``)."""


class ArgumentError(NetcalcError, TypeError):
    """A function argument is invalid; ``field`` is the parameter's name.

    On the command line the field is shown as its option (``convention`` -> ``--convention``).
    """

    def cli_text(self) -> str:
        field = self.field if self.field.startswith("-") or " " in self.field \
            else option_of(self.field)
        return safe_text(self._join(field, _TICKED.sub(lambda m: option_of(m.group(1)),
                                                       self.message)))


def option_of(parameter: str) -> str:
    """The command-line option of a Python parameter name; one of the widths of ``fit`` is the
    argument the usage line names (``widths[3]`` -> ``W4``)."""
    name, bracket, rest = parameter.partition("[")
    index, _, after = rest.partition("]")
    if name == "widths" and index.isdigit():
        return f"W{int(index) + 1}{after}"
    option = OPTION_OF.get(name) or "--" + name.replace("_", "-")
    return option + bracket + rest


def exception_line(exc: BaseException) -> str:
    """``Type: first line of its message`` for an exception raised by the user's code; one
    whose ``str`` itself fails is named by its type alone."""
    try:
        text = str(exc).strip()
    except (Exception, SystemExit):  # noqa: BLE001 -- the user's __str__: any failure
        text = ""
    first = text.splitlines()[0] if text else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


# -- terminal safety -------------------------------------------------------------------------------
def safe_text(text: str, limit: int = 0) -> str:
    """``text`` with every character that could steer a terminal made visible.

    Control characters (C0, DEL, C1: escape sequences, NUL, newlines, carriage returns), bidi
    overrides and isolates, and other format characters (zero-width joiners, BOM) and line or
    paragraph separators become ``\\xNN``/``\\uNNNN`` escapes, as ``repr`` writes them; a
    backslash stays a backslash. So one error stays one line, and a name cannot rewrite what
    the terminal shows. ``limit`` > 0 shortens the result to that many characters.
    """
    text = str(text)
    if text.isascii() and text.isprintable():
        out = text
    else:
        out = "".join(_escaped(ch) for ch in text)
    if limit and len(out) > limit:
        out = out[: max(limit - 3, 0)] + "..."
    return out


def _escaped(ch: str) -> str:
    if ch == " " or (ch.isprintable() and unicodedata.category(ch) not in ("Cf", "Zl", "Zp")):
        return ch
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 \
        else f"\\U{code:08x}"


class GraphError(ValueError):
    """A shape that cannot work (kernel larger than its input, mismatched operands...).

    ``field`` names the node attribute responsible (``kernel``, ``inputs``...) when one is; the
    graph spec parser turns it into ``layers[i].<field>``.
    """

    def __init__(self, message: str, field: str = ""):
        super().__init__(message)
        self.attr = field
