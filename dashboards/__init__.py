"""Static Plotly dashboards built from the dealscope warehouse (no Dagster imports)."""

from __future__ import annotations

from typing import Any

__all__ = ["build_site"]


def __getattr__(name: str) -> Any:
    # Imported on first use, so `dealscope brief` (dashboards.brief) does not load Plotly.
    if name == "build_site":
        from dashboards.site import build_site

        return build_site
    raise AttributeError(f"module 'dashboards' has no attribute {name!r}")
