"""A step's plain metadata (`cycle.stage`) as Dagster metadata, shown with its warnings."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import dagster as dg

from dgas_pipeline.cycle.stage import Markdown, StepResult

T = TypeVar("T")


def dagster_metadata(values: Mapping[str, Any]) -> dict[str, Any]:
    """Markdown as Markdown, paths as paths, lists and mappings as JSON, the rest as is."""
    return {name: _value(value) for name, value in values.items()}


def output(context: dg.AssetExecutionContext, result: StepResult[T]) -> T:
    """Log a step's warnings, attach its metadata to the output, and return the output."""
    for line in result.warnings:
        context.log.warning(line)
    context.add_output_metadata(dagster_metadata(result.metadata))
    return result.value


def materialized(values: Mapping[str, Any]) -> dg.MaterializeResult:
    """A materialisation without a stored output, carrying `values` as metadata."""
    return dg.MaterializeResult(metadata=dagster_metadata(values))


def _value(value: Any) -> Any:
    if isinstance(value, Markdown):
        return dg.MetadataValue.md(value.text)
    if isinstance(value, Path):
        return dg.MetadataValue.path(str(value))
    if isinstance(value, Mapping | list | tuple):
        return dg.MetadataValue.json(value)
    return value
