"""Bar providers (synthetic, files, polygon), bar validation and the failover fetcher.

Knows nothing of Dagster: `defs/` builds the providers from config (reading the Polygon key
with `EnvVar`) and calls `fetch_bars`.

Names are imported on first use (`lazy_exports`): the config reads `data.settings` without
paying for pandas, httpx and the providers.
"""

from __future__ import annotations

from dgas_pipeline.lazy_exports import lazy_exports

_EXPORTS = {
    "BAR_COLUMNS": "fetch",
    "FetchResult": "fetch",
    "build_providers": "fetch",
    "close_providers": "fetch",
    "fetch_bars": "fetch",
    "FilesProvider": "files",
    "PolygonProvider": "polygon",
    "RAW_COLUMNS": "provider",
    "BarBatch": "provider",
    "BarProvider": "provider",
    "BatchBarProvider": "provider",
    "ProviderError": "provider",
    "ProviderSettings": "settings",
    "SyntheticProvider": "synthetic",
    "InvalidBars": "validation",
    "validate_bars": "validation",
    "validate_batch": "validation",
    "validate_window_bars": "validation",
}

__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
