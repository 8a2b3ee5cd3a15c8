"""The one call behind `dealscope sample`: generate a world, optionally make it messy, write it."""

from __future__ import annotations

from pathlib import Path

from dealscope.sample.export import write_world
from dealscope.sample.generator import EffectSizes, generate_world, stress_knobs
from dealscope.sample.messy import add_messy_rows

WORLDS = ("planted", "null")


def effects_for(world: str) -> EffectSizes:
    """`planted`: the documented effect sizes; `null`: no causal effect of alignment or events."""
    if world not in WORLDS:
        raise ValueError(f"world must be one of {WORLDS}, not {world!r}")
    return EffectSizes() if world == "planted" else EffectSizes.null()


def write_sample(
    out_dir: Path,
    seed: int,
    n_accounts: int = 2000,
    world: str = "planted",
    fmt: str = "csv",
    messy_rate: float = 0.0,
    stress: str = "none",
) -> dict[str, int]:
    """Write the five export files to out_dir; returns data rows written per table (bad rows included).
    stress: a named stress world (generator.STRESS_WORLDS), "none" for the default world."""
    frames = generate_world(n_accounts, seed, effects_for(world), stress=stress_knobs(stress))
    if messy_rate > 0:
        frames = add_messy_rows(frames, messy_rate, seed)
    return write_world(frames, Path(out_dir), fmt)
