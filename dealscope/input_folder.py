"""What the sensor watches: a cheap fingerprint of the export folder."""

from __future__ import annotations

import hashlib
from pathlib import Path

from dealscope.settings import MAPPING_FILE_NAME

INPUT_SUFFIXES = (".csv", ".parquet")


def fingerprint(data_dir: Path, mapping_file: Path | None = None) -> str:
    """A digest of the names, sizes and modification times of the folder's input files and mapping.

    ``mapping_file``: a mapping kept outside the folder (`--mapping`), watched too.

    It changes when a file is added, removed, replaced or rewritten, without reading contents.
    An absent folder has a fingerprint of its own, so it appearing later counts as a change.
    """
    digest = hashlib.sha256()
    if data_dir.is_dir():
        for path in sorted(data_dir.iterdir()):
            if path.is_file() and (path.suffix.lower() in INPUT_SUFFIXES or path.name == MAPPING_FILE_NAME):
                stat = path.stat()
                digest.update(f"{path.name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    else:
        digest.update(b"<absent>")
    if mapping_file is not None and mapping_file.parent != data_dir and mapping_file.is_file():
        stat = mapping_file.stat()
        digest.update(f"{mapping_file}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]
