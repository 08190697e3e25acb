"""Key templates for single-table design (``"USER#{user_id}"``): format fields into a key, parse them back.

Pure Python (no pydantic): shared by typed models (:class:`ddbkit.models.Model` with ``pk=``/``sk=``) and
the dict-based :mod:`ddbkit.patterns.single_table` wrappers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from string import Formatter
from typing import Any

from ddbkit.errors import ClientValidationError

__all__ = ["KeyTemplate"]


class KeyTemplate:
    """A key template such as ``"ORDER#{order_id}"``: formats fields into a key and parses them back."""

    def __init__(self, template: str) -> None:
        self.template = template
        self.fields = [f for _, f, _, _ in Formatter().parse(template) if f]
        for f in self.fields:
            if not f.isidentifier():
                raise ClientValidationError(f"template field {f!r} must be a plain name", template, "template.field")
        # a regex that reads fields back: literal parts escaped, each field a non-greedy group
        pattern = ""
        for literal, field_name, _, _ in Formatter().parse(template):
            pattern += re.escape(literal)
            if field_name:
                pattern += f"(?P<{field_name}>.+?)"
        self._regex = re.compile(f"^{pattern}$")
        first = template.find("{")
        self.prefix = template if first < 0 else template[:first]

    def format(self, fields: Mapping[str, Any]) -> str:
        missing = [f for f in self.fields if fields.get(f) in (None, "")]
        if missing:
            raise ClientValidationError(f"key template {self.template!r} needs {missing}", self.template,
                                        "template.missing")
        return self.template.format(**{f: _text(fields[f]) for f in self.fields})

    def parse(self, value: str) -> dict[str, str] | None:
        m = self._regex.match(value)
        return m.groupdict() if m else None

    def __repr__(self) -> str:
        return f"KeyTemplate({self.template!r})"


def _text(value: Any) -> Any:
    # an Enum member formats as its value (``Status.OPEN`` -> ``OPEN``), not as ``Status.OPEN``
    inner = getattr(value, "value", None)
    return inner if inner is not None and type(value).__module__ != "builtins" and hasattr(value, "name") else value
