"""CloudFormation intrinsics shared by every template builder (synth, the bind templates of iam).

Pure functions of their input, importing nothing of ddbkit_infra, so both ``synth`` and ``iam`` build on
them without importing each other.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["logical_id", "sub"]


def logical_id(*parts: str) -> str:
    """A CloudFormation logical id (alphanumeric) from ``parts``, each capitalised: ``("my-t", "read")``
    gives ``MytRead``."""
    return "".join(re.sub(r"[^A-Za-z0-9]", "", p[:1].upper() + p[1:]) for p in parts)


def sub(obj: Any) -> Any:
    """Wrap every string holding a ``${AWS::...}``/``${Logical.Attr}`` placeholder in ``Fn::Sub``
    (recursively through lists and dicts); other values are returned as they are."""
    if isinstance(obj, str):
        return {"Fn::Sub": obj} if "${" in obj else obj
    if isinstance(obj, list):
        return [sub(v) for v in obj]
    if isinstance(obj, dict):
        return {k: sub(v) for k, v in obj.items()}
    return obj
