"""Synthetic dealscope exports with documented planted effects (see data/sample/README.md)."""

from dealscope.sample.alignment import strategic_alignment
from dealscope.sample.build import WORLDS, effects_for, write_sample
from dealscope.sample.export import frame_as_text, write_world
from dealscope.sample.generator import (
    CONTRACT_COLUMNS,
    EVENT_TYPES,
    TABLES,
    TRUST_BUILDING,
    TRUST_ERODING,
    STRESS_WORLDS,
    EffectSizes,
    StressKnobs,
    generate_world,
    generate_world_with_truth,
    stress_knobs,
)
from dealscope.sample.messy import BAD_ROW_KINDS, add_messy_rows, bad_row_count

__all__ = [
    "BAD_ROW_KINDS",
    "CONTRACT_COLUMNS",
    "EVENT_TYPES",
    "TABLES",
    "TRUST_BUILDING",
    "TRUST_ERODING",
    "WORLDS",
    "STRESS_WORLDS",
    "EffectSizes",
    "StressKnobs",
    "add_messy_rows",
    "bad_row_count",
    "effects_for",
    "frame_as_text",
    "generate_world",
    "generate_world_with_truth",
    "strategic_alignment",
    "stress_knobs",
    "write_sample",
    "write_world",
]
