"""Bar providers (synthetic, files, polygon), bar validation and the failover fetcher.

Knows nothing of Dagster: `defs/` builds the providers from config (reading the Polygon key
with `EnvVar`) and calls `fetch_bars`.
"""

from dgas_pipeline.data.fetch import (
    BAR_COLUMNS,
    FetchResult,
    build_providers,
    close_providers,
    fetch_bars,
)
from dgas_pipeline.data.files import FilesProvider
from dgas_pipeline.data.polygon import PolygonProvider
from dgas_pipeline.data.provider import (
    RAW_COLUMNS,
    BarBatch,
    BarProvider,
    BatchBarProvider,
    ProviderError,
)
from dgas_pipeline.data.settings import ProviderSettings
from dgas_pipeline.data.synthetic import SyntheticProvider
from dgas_pipeline.data.validation import (
    InvalidBars,
    validate_bars,
    validate_batch,
    validate_window_bars,
)

__all__ = [
    "BAR_COLUMNS",
    "RAW_COLUMNS",
    "BarBatch",
    "BarProvider",
    "BatchBarProvider",
    "FetchResult",
    "FilesProvider",
    "InvalidBars",
    "PolygonProvider",
    "ProviderError",
    "ProviderSettings",
    "SyntheticProvider",
    "build_providers",
    "close_providers",
    "fetch_bars",
    "validate_bars",
    "validate_batch",
    "validate_window_bars",
]
