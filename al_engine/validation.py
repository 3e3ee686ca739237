"""Hyperparameter validation against a strategy's schema.

A schema maps a parameter name to ``{"type": "int"|"float"|"choice"|"bool", "default": v,
"min": v?, "max": v?, "choices": [...]?, "help": str}``; the UI builds its forms from it.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["check_schema", "clean_value", "validate_params"]

TYPES = ("int", "float", "choice", "bool")


def clean_value(strategy: str, field: str, spec: dict, value: Any) -> Any:
    """Return ``value`` converted to the schema's type, or raise ValueError naming the field."""
    where = f"{strategy}.{field}"
    kind = spec["type"]
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"{where} must be true or false, got {value!r}")
        return value
    if kind == "choice":
        if value not in spec["choices"]:
            raise ValueError(f"{where} must be one of {list(spec['choices'])}, got {value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{where} must be a number, got {value!r}")
    if kind == "int":
        if isinstance(value, float):
            if not value.is_integer():
                raise ValueError(f"{where} must be a whole number, got {value!r}")
            value = int(value)
        value = int(value)
    else:
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"{where} must be finite, got {value!r}")
    if "min" in spec and value < spec["min"]:
        raise ValueError(f"{where} must be >= {spec['min']}, got {value!r}")
    if "max" in spec and value > spec["max"]:
        raise ValueError(f"{where} must be <= {spec['max']}, got {value!r}")
    return value


def validate_params(strategy: str, params: dict | None, *, schema: dict[str, dict]) -> dict:
    """Cleaned parameters with defaults filled in; unknown or bad fields raise ValueError."""
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise ValueError(f"{strategy}: parameters must be a mapping, got {type(params).__name__}")
    unknown = sorted(set(params) - set(schema))
    if unknown:
        valid = ", ".join(sorted(schema)) or "none"
        raise ValueError(
            f"{strategy}: unknown parameter {unknown[0]!r} (valid parameters: {valid})"
        )
    cleaned = {}
    for field, spec in schema.items():
        value = params.get(field, spec["default"])
        cleaned[field] = clean_value(strategy, field, spec, value)
    return cleaned


def check_schema(strategy: str, schema: dict[str, dict]) -> None:
    """Fail early on a malformed schema (used when a strategy is registered)."""
    for field, spec in schema.items():
        if spec.get("type") not in TYPES:
            raise TypeError(f"{strategy}.{field}: type must be one of {TYPES}")
        if "help" not in spec or "default" not in spec:
            raise TypeError(f"{strategy}.{field}: schema needs 'default' and 'help'")
        if spec["type"] == "choice" and not spec.get("choices"):
            raise TypeError(f"{strategy}.{field}: a choice needs 'choices'")
        clean_value(strategy, field, spec, spec["default"])
