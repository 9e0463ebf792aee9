"""SIGKILL during training and checkpointing, then resume from the store (20 trials here;
``python bench/crash_safety.py --trials 200`` runs the full campaign)."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "crash_safety.py"


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("orbitlearn_bench_crash_safety", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_sigkill_at_random_moments_never_loads_a_corrupt_checkpoint(tmp_path: Path) -> None:
    stats = _bench().run_trials(20, workdir=tmp_path, seed=1, steps=24, every=4)
    assert stats["trials"] == 20
    assert stats["corrupt_loaded"] == 0
    assert stats["kills_in_save"] >= 5  # half the kills aim inside a save
    assert stats["max_lost_steps"] <= 4  # at most one checkpoint interval
    assert stats["loaded_checkpoint"] + stats["no_checkpoint_yet"] >= 20
