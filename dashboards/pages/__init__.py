"""The dashboard pages, one module per page: each page's builder, figures and sentences.

Shared pieces live apart: dashboards.components (page shell, tables, filters, notices),
dashboards.charts (chart style), dashboards.formatting (numbers and dates),
dashboards.verdicts (hypothesis sentences used by two pages).
"""

from __future__ import annotations

from collections.abc import Callable

from dashboards.data import SiteData
from dashboards.pages.evidence import evidence_page
from dashboards.pages.overview import overview_page
from dashboards.pages.strategic_fit import strategic_fit_page
from dashboards.pages.trust import trust_page
from dashboards.pages.win_loss import win_loss_page

PAGE_BUILDERS: dict[str, Callable[[SiteData], str]] = {
    "index.html": overview_page,
    "win_loss.html": win_loss_page,
    "strategic_fit.html": strategic_fit_page,
    "trust.html": trust_page,
    "evidence.html": evidence_page,
}
