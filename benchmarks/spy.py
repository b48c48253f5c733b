"""Time named functions while the real call chain runs, without changing the pipeline code.

The benchmark calls the functions the assets call (``receive_drop``, ``load_core``,
``run_analysis``) and attributes their time to stages by wrapping the functions they
call in turn, so each stage is measured inside the real chain and nothing runs twice.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import ModuleType


def _timed(name: str, function: Callable, spent: dict[str, float]) -> Callable:
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent[name] += time.perf_counter() - started

    return wrapper


@contextmanager
def spied(*targets: tuple[ModuleType, str]) -> Iterator[dict[str, float]]:
    """Seconds spent in each ``(module, function name)`` while the block runs (inclusive, summed over calls)."""
    spent: dict[str, float] = defaultdict(float)
    originals = [(module, name, getattr(module, name)) for module, name in targets]
    for module, name, function in originals:
        setattr(module, name, _timed(name, function, spent))
    try:
        yield spent
    finally:
        for module, name, function in originals:
            setattr(module, name, function)
