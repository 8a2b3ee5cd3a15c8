"""`dealscope brief DEAL_ID`: the pre-negotiation brief of one open deal, from the published
warehouse opened read-only (a run in progress is never blocked, docs/architecture.md)."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

import duckdb

from dashboards.brief import BriefError, write_brief


def run_brief(deal_id: str, warehouse: Path, out_dir: Path, out: TextIO, err: TextIO) -> int:
    """Write DEAL_ID.html and DEAL_ID.json into out_dir; 0 when written, 2 when the deal or the
    warehouse cannot be briefed (the reason is printed)."""
    if not warehouse.exists():
        print(f"no warehouse at {warehouse}: run `dealscope run` first or pass --warehouse", file=err)
        return 2
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        html_path, json_path = write_brief(con, deal_id, out_dir)
    except BriefError as error:
        print(f"cannot brief {deal_id}: {error}", file=err)
        return 2
    finally:
        con.close()
    print(f"brief:  {html_path}\njson:   {json_path}", file=out)
    return 0
