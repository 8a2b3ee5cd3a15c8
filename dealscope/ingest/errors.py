"""Errors the loader raises to stop a run."""

from __future__ import annotations


class InputFileError(Exception):
    """An input file cannot be used at all: absent (when required), unreadable or missing a column.

    The message always starts with the file's name (``deals.csv: ...``) and says what is wrong,
    so whoever runs the pipeline knows which export to fix.
    """

    def __init__(self, file_name: str, problem: str) -> None:
        super().__init__(f"{file_name}: {problem}")
        self.file_name = file_name
        self.problem = problem
