"""Package names imported on first use, so importing one light module of a package does not
import its heavy siblings.

Python runs a package's `__init__` before any of its modules: an `__init__` that re-exports
everything makes `from dgas_pipeline.notify.settings import NotificationSettings` (what the
config needs) import the delivery code, SQLAlchemy and the chart stack too. A package lists
its public names and the module holding each instead, and `lazy_exports` gives it the module
`__getattr__` (PEP 562) that imports that module when the name is first read.

A name must not equal one of the package's module names: once that module is imported, the
import system binds the module to the package attribute and the name would read as the module.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """The module `__getattr__` of `package`: `exports` maps each public name to the module
    (relative to `package`) that defines it."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(import_module(f"{package}.{module}"), name)

    return __getattr__
