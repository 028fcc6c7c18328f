"""The one error type users see for bad input."""


class SpecError(ValueError):
    """A spec (or an option) is invalid.

    ``str(err)`` is one line: ``<source>: <field path>: <what is wrong>``, ready to print after
    ``error: ``. ``source`` is the file name (or ``<dict>``, or ``--option`` for command-line values).
    """

    def __init__(self, source: str, field: str, message: str):
        self.source = source
        self.field = field
        self.message = message
        parts = [p for p in (source, field, message) if p]
        super().__init__(": ".join(parts))


class GraphError(ValueError):
    """A shape that cannot work (kernel larger than its input, mismatched operands...).

    ``field`` names the node attribute responsible (``kernel``, ``inputs``...) when one is; the
    graph spec parser turns it into ``layers[i].<field>``.
    """

    def __init__(self, message: str, field: str = ""):
        super().__init__(message)
        self.attr = field
