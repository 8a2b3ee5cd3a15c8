"""Reading and validating the input exports (contract sections 1 and 2).

The Dagster assets call, in the order of TABLES, after prepare_warehouse and load_event_types:
``load_table(con, table, data_dir, loaded_at)``. Nothing here imports Dagster.
"""

from .errors import InputFileError
from .event_types import load_event_types
from .loader import LoadCountMismatch, LoadCounts, load_table, prepare_warehouse
from .spec import SPECS, TABLES

__all__ = [
    "InputFileError",
    "LoadCountMismatch",
    "LoadCounts",
    "SPECS",
    "TABLES",
    "load_event_types",
    "load_table",
    "prepare_warehouse",
]
