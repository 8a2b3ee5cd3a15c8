"""Static Plotly dashboards built from the dealscope warehouse (no Dagster imports)."""

from dashboards.site import build_site

__all__ = ["build_site"]
