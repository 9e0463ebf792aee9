"""Training-step time with healing policies against plain PyTorch, measured in the same run.

For each model (an MLP on 784-feature inputs and a small CNN on 28x28 images) every variant gets
its own copy of the same initial model, the same optimizer (Adam) and the same batches:

* ``plain``: a plain PyTorch step, no orbitlearn: ``zero_grad(set_to_none=True)``, forward,
  loss, ``backward()``, ``optimizer.step()``, ``loss.item()`` (the loss is read back, as every
  training loop that logs it does).
* ``none``, ``detect``, ``standard``, ``full``, ``full-checksum`` (``full`` with checksum instead
  of compare detection), ``dmr``, ``tmr``: the same step through ``orbitlearn.healing.Healing``.

Variants run interleaved (each repetition times a block of steps of every variant, in a rotating
order), and each ``<variant>_ratio`` is the median step time of the variant over the median of
``plain`` (``<variant>_ratio_p10``: the same with 10th percentiles, which other processes on a
shared machine disturb less).
Target (issue 4): ``standard`` at most 1.05x plain PyTorch.

Usage::

    python bench/healing_overhead.py [--format json] [--repeats 12] [--steps 20] [--threads 1]
                                     [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from orbitlearn.healing import Healing

VARIANTS = ("plain", "none", "detect", "standard", "full", "full-checksum", "dmr", "tmr")


def make_mlp() -> nn.Module:
    return nn.Sequential(
        nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10)
    )


def make_cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 7 * 7, 10),
    )


MODELS: dict[str, tuple[Callable[[], nn.Module], tuple[int, ...], int]] = {
    "mlp": (make_mlp, (784,), 64),
    "cnn": (make_cnn, (1, 28, 28), 32),
}


def _batches(shape: tuple[int, ...], batch: int, device: torch.device, n: int = 8) -> list[Any]:
    g = torch.Generator().manual_seed(0)
    return [
        (
            torch.randn(batch, *shape, generator=g).to(device),
            torch.randint(0, 10, (batch,), generator=g).to(device),
        )
        for _ in range(n)
    ]


class Runner:
    """One variant: its own model, optimizer and (for healing variants) Healing."""

    def __init__(self, variant: str, factory: Callable[[], nn.Module], device: torch.device):
        torch.manual_seed(0)
        self.model = factory().to(device)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=1e-3)
        self.variant = variant
        self.device = device
        self.healing: Healing | None = None
        if variant == "full-checksum":
            self.healing = Healing("full", protect_method="checksum").bind(self.model, self.opt)
        elif variant != "plain":
            self.healing = Healing(variant).bind(self.model, self.opt)
        self.loss_fn = nn.functional.cross_entropy

    def step(self, x: torch.Tensor, y: torch.Tensor) -> float:
        if self.healing is None:
            self.opt.zero_grad(set_to_none=True)
            loss = self.loss_fn(self.model(x), y)
            loss.backward()
            self.opt.step()
            return loss.item()

        def compute() -> torch.Tensor:
            loss = self.loss_fn(self.model(x), y)
            loss.backward()
            return loss

        return self.healing.step(compute).loss

    def timed_block(self, batches: list[Any], steps: int, offset: int) -> list[float]:
        times = []
        sync = torch.cuda.synchronize if self.device.type == "cuda" else (lambda: None)
        for i in range(steps):
            x, y = batches[(offset + i) % len(batches)]
            sync()
            start = time.perf_counter()
            self.step(x, y)
            sync()
            times.append(time.perf_counter() - start)
        return times


def measure(
    model: str, *, repeats: int, steps: int, warmup: int, device: torch.device
) -> dict[str, Any]:
    factory, shape, batch = MODELS[model]
    batches = _batches(shape, batch, device)
    runners = {v: Runner(v, factory, device) for v in VARIANTS}
    for runner in runners.values():  # warm-up: optimizer state, detector warm-up, caches
        runner.timed_block(batches, warmup, 0)
    times: dict[str, list[float]] = {v: [] for v in VARIANTS}
    order = list(VARIANTS)
    for rep in range(repeats):
        rotated = order[rep % len(order) :] + order[: rep % len(order)]
        for v in rotated:
            times[v] += runners[v].timed_block(batches, steps, rep * steps)
    medians = {v: statistics.median(t) for v, t in times.items()}
    lows = {v: statistics.quantiles(t, n=10)[0] for v, t in times.items()}
    plain = medians["plain"]
    row: dict[str, Any] = {"model": model, "plain_step_s": plain}
    for v in VARIANTS[1:]:
        row[f"{v.replace('-', '_')}_ratio"] = medians[v] / plain
    for v in VARIANTS[1:]:
        # the 10th percentile is less disturbed by other processes on a shared machine
        row[f"{v.replace('-', '_')}_ratio_p10"] = lows[v] / lows["plain"]
    detections = {v: r.healing.report.detected for v, r in runners.items() if r.healing is not None}
    row["detections_fault_free"] = sum(detections.values())  # false alarms would show here
    row["steps_per_variant"] = len(times["plain"])
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--repeats", type=int, default=12)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--models", default="mlp,cnn")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    rows = [
        measure(m, repeats=args.repeats, steps=args.steps, warmup=args.warmup, device=device)
        for m in args.models.split(",")
    ]
    for row in rows:
        row["device"] = str(device)
        row["threads"] = args.threads
    if args.format == "json":
        json.dump(rows, sys.stdout, indent=2)
        print()
    else:
        names = [k for k in rows[0] if k.endswith("_ratio")]
        lows = [k for k in rows[0] if k.endswith("_ratio_p10")]
        print(f"{'model':6s} {'plain ms':>9s} " + " ".join(f"{n[:-6]:>13s}" for n in names))
        for row in rows:
            print(
                f"{row['model']:6s} {row['plain_step_s'] * 1e3:9.3f} "
                + " ".join(f"{row[n]:12.3f}x" for n in names)
            )
        for row in rows:
            print(f"{'  p10':6s} {'':9s} " + " ".join(f"{row[n]:12.3f}x" for n in lows))
        print(
            f"(device {device}, {args.threads} thread(s), {rows[0]['steps_per_variant']} timed "
            "steps per variant, medians, interleaved)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
