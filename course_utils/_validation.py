"""Argument checks shared by the course's public functions: one exception type, one seed convention."""

from __future__ import annotations

import math
import numbers
from pathlib import Path

import torch

__all__ = ["InvalidArgumentError", "check_bool", "check_int", "check_number", "check_path", "generator_from"]


class InvalidArgumentError(ValueError, TypeError):
    """A public function was given an argument it cannot use.

    Both a ``ValueError`` and a ``TypeError`` (as scikit-learn's
    ``InvalidParameterError``), so callers may catch either. The message
    names the argument and says what to pass instead.
    """


def check_bool(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise InvalidArgumentError(f"{name} must be True or False, got {value!r}")
    return value


def check_int(name: str, value: object, *, minimum: int | None = None) -> int:
    """``value`` as an int (not a bool), at least ``minimum`` if given."""
    if not isinstance(value, int) or isinstance(value, bool) or (minimum is not None and value < minimum):
        bound = "" if minimum is None else f" of at least {minimum}"
        raise InvalidArgumentError(f"{name} must be an int{bound}, got {value!r}")
    return value


def check_number(name: str, value: object, *, minimum: float | None = None, strict: bool = False) -> float:
    """``value`` as a float, finite; at least ``minimum`` (or above it when ``strict``) if given."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not math.isfinite(value) or (
            minimum is not None and (value <= minimum if strict else value < minimum)):
        if minimum is None:
            what = "a number"
        elif minimum == 0:
            what = "a positive number" if strict else "a non-negative number"
        else:
            what = f"a number {'above' if strict else 'of at least'} {minimum}"
        raise InvalidArgumentError(f"{name} must be {what}, got {value!r}")
    return float(value)


def check_path(name: str, value: object) -> Path | None:
    """``value`` (str, Path or None) as a Path or None."""
    if value is None:
        return None
    if not isinstance(value, (str, Path)):
        raise InvalidArgumentError(f"{name} must be a path (str or pathlib.Path) or None, got {type(value).__name__}")
    return Path(value)


def generator_from(seed: object, name: str = "seed") -> torch.Generator | None:
    """The course's one randomness convention: ``seed`` is an int, a ``torch.Generator`` or None.

    An int gives a fresh generator seeded with it (the same numbers every
    call); a generator is used as it is, and moves on with each call (a new
    shuffle every epoch); None uses torch's global random state.
    """
    if seed is None or isinstance(seed, torch.Generator):
        return seed
    if isinstance(seed, int) and not isinstance(seed, bool):
        return torch.Generator().manual_seed(seed)
    raise InvalidArgumentError(f"{name} must be an int, a torch.Generator or None, got {seed!r}")
