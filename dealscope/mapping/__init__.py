"""Bring your own CRM: a declarative mapping file (``dealscope.yml``) from exports to the contract.

``parse_mapping(path)`` reads and checks the file (MappingError names the file and line);
``load_table(..., mapping=...)`` in dealscope.ingest applies it with ``engine``. No Dagster here.
"""

from .model import MappingDataError, Mapping, MappingError
from .parse import parse_mapping

__all__ = ["Mapping", "MappingDataError", "MappingError", "parse_mapping"]
