"""Strict JSON for results: JSON has no NaN or infinity, so they become null (a diverged run)."""

from __future__ import annotations

import json
import math
from typing import Any


def clean(obj: Any) -> Any:
    """A copy of `obj` with non-finite floats as None and dict keys as strings."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {str(k): clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [clean(v) for v in obj]
    return obj


def dumps(obj: Any, **kw: Any) -> str:
    """Strict JSON text (UTF-8, indented); numpy scalars and other objects via str."""
    return json.dumps(clean(obj), ensure_ascii=False, indent=1, allow_nan=False,
                      default=kw.pop("default", str), **kw)
