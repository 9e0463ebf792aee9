"""Training-step time with healing policies against plain PyTorch, measured in the same run.

For each model every variant gets its own copy of the same initial model (same seed), the same
optimizer (Adam, lr 1e-3) and the same batches:

* ``plain``: a plain PyTorch step, no orbitlearn: ``zero_grad(set_to_none=True)``, forward,
  loss, ``backward()``, ``optimizer.step()``, ``loss.item()`` (the loss is read back, as every
  training loop that logs it does).
* ``plain-control``: a second, independent ``plain`` runner. Its ratio to ``plain`` should be
  1 within the confidence interval: it shows how finely the run can resolve a ratio at all;
* ``none``, ``detect``, ``standard``, ``full``, ``full-checksum`` (``full`` with checksum instead
  of compare detection), ``dmr``, ``tmr``: the same step through ``orbitlearn.healing.Healing``.

Models (``--models``, sizes printed with the results): ``mlp`` (784-256-256-10, 269k
parameters, batch 64), ``cnn`` (two 3x3 conv layers and a linear head on 28x28 images, 20k
parameters, batch 32) and, on request, ``mlp-wide`` (784-1024-1024-10, 1.86M parameters, batch
128), where fixed per-step Python costs weigh less.

How it is timed, so that a shared machine disturbs it as little as possible:

* fresh objects: each repetition builds every variant anew (same seed, so the same initial
  weights) and runs ``--warmup`` (20) untimed steps: optimizer state, the spike detectors'
  16-value and the activation guard's 8-pass warm-up, the first snapshot. Fresh objects land
  at new addresses, so memory-layout effects (on the 2-core development VM, four identical
  plain runners kept for a whole run differed by up to 30 %) spread over all variants
  instead of favouring one (``--reuse`` keeps one set of objects);
* blocks: a repetition then times one block of ``--steps`` consecutive steps of every variant,
  in an order that rotates from one repetition to the next (no variant always runs first or
  right after another). The default block is 50 steps, the period of ``standard``'s state
  scan and snapshot: steps 20-69 of a fresh run carry exactly one of each (step 49), so the
  periodic work is amortised into the block time, not hidden by a median over single steps;
* paired ratios: in each repetition a variant's block time is divided by ``plain``'s block
  time of the same repetition (slow phases of the machine hit both); ``<variant>_ratio`` is
  the median of these ratios over the repetitions and ``<variant>_ratio_ci`` its
  distribution-free 95 % confidence interval (order statistics of the binomial(n, 1/2)
  distribution; Conover, *Practical Nonparametric Statistics*, 3rd ed., sec. 3.2);
* ``--clock cpu`` times with the calling thread's CPU time (``time.thread_time``) instead of
  the wall clock: with ``--threads 1`` on CPU all of a step's work runs on that thread, and
  time the thread spends descheduled by other processes is not counted.

Target (issue 4): ``standard`` at most 1.05x plain PyTorch.

Usage::

    python bench/healing_overhead.py [--format json] [--repeats 30] [--steps 50] [--threads 1]
                                     [--clock wall|cpu] [--models mlp,cnn,mlp-wide]
                                     [--variants plain,standard,...] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from orbitlearn.healing import Healing

VARIANTS = (
    "plain",
    "plain-control",
    "none",
    "detect",
    "standard",
    "full",
    "full-checksum",
    "dmr",
    "tmr",
)
TARGET = ("standard", 1.05)


def make_mlp() -> nn.Module:
    return nn.Sequential(
        nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10)
    )


def make_mlp_wide() -> nn.Module:
    return nn.Sequential(
        nn.Linear(784, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU(), nn.Linear(1024, 10)
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
    "mlp-wide": (make_mlp_wide, (784,), 128),
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
        elif variant not in ("plain", "plain-control"):
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

    def timed_block(
        self, batches: list[Any], steps: int, offset: int, clock: Callable[[], float]
    ) -> float:
        """Seconds for ``steps`` consecutive steps (the device is synchronised at both ends)."""
        sync = torch.cuda.synchronize if self.device.type == "cuda" else (lambda: None)
        sync()
        start = clock()
        for i in range(steps):
            x, y = batches[(offset + i) % len(batches)]
            self.step(x, y)
        sync()
        return clock() - start


def median_ci(values: list[float], confidence: float = 0.95) -> tuple[float, float]:
    """Distribution-free confidence interval for the median: order statistics ``j`` and
    ``n - j + 1`` with ``j`` the largest rank such that ``P(Binomial(n, 1/2) < j) <= alpha/2``
    (exact binomial tail). Needs n >= 6 for a 95 % interval; smaller samples give the range."""
    ordered = sorted(values)
    n = len(ordered)
    alpha = 1.0 - confidence
    tail, j = 0.0, 0
    while j < n // 2:
        nxt = tail + math.comb(n, j) / 2.0**n  # P(B <= j)
        if nxt > alpha / 2:
            break
        tail, j = nxt, j + 1
    if j == 0:
        return ordered[0], ordered[-1]
    return ordered[j - 1], ordered[n - j]


def measure(
    model: str,
    *,
    variants: list[str],
    repeats: int,
    steps: int,
    warmup: int,
    device: torch.device,
    clock: Callable[[], float],
    fresh: bool = True,
) -> dict[str, Any]:
    factory, shape, batch = MODELS[model]
    batches = _batches(shape, batch, device)
    runners: dict[str, Runner] = {}
    detections = 0
    blocks: dict[str, list[float]] = {v: [] for v in variants}
    for rep in range(repeats):
        if fresh or not runners:
            for runner in runners.values():
                if runner.healing is not None:
                    detections += runner.healing.report.detected
                    detections += runner.healing.report.false_alarms
            # new objects each repetition: where the allocator puts weights, gradients and
            # optimizer state changes, so layout effects (cache-set conflicts, 4K aliasing)
            # spread over all variants instead of favouring one for the whole run
            runners = {v: Runner(v, factory, device) for v in variants}
            for runner in runners.values():  # optimizer state, detector warm-up, snapshot
                runner.timed_block(batches, warmup, 0, clock)
        shift = rep % len(variants)
        for v in variants[shift:] + variants[:shift]:
            blocks[v].append(runners[v].timed_block(batches, steps, warmup + rep * steps, clock))
    for runner in runners.values():
        if runner.healing is not None:
            detections += runner.healing.report.detected + runner.healing.report.false_alarms
    plain = blocks["plain"]
    row: dict[str, Any] = {
        "model": model,
        "parameters": sum(p.numel() for p in runners["plain"].model.parameters()),
        "batch": batch,
        "plain_step_s": statistics.median(plain) / steps,
    }
    for v in variants[1:]:
        ratios = [b / p for b, p in zip(blocks[v], plain, strict=True)]
        key = v.replace("-", "_")
        row[f"{key}_ratio"] = statistics.median(ratios)
        row[f"{key}_ratio_ci"] = list(median_ci(ratios))
    row["detections_fault_free"] = detections  # false alarms would show here
    row["repeats"] = repeats
    row["steps_per_block"] = steps
    row["fresh_objects_per_repeat"] = fresh
    return row


def _load() -> str:
    try:
        one, five, _ = os.getloadavg()
    except OSError:  # pragma: no cover - no load average on this platform
        return "unknown"
    return f"{one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} CPUs"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--steps", type=int, default=50, help="steps per timed block")
    parser.add_argument("--warmup", type=int, default=20, help="steps before each timed block")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep one set of models for all repetitions (default: fresh ones each repetition)",
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--models", default="mlp,cnn")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    args = parser.parse_args(argv)
    models = args.models.split(",")
    variants = ["plain"] + [v for v in args.variants.split(",") if v != "plain"]
    unknown = [m for m in models if m not in MODELS] + [v for v in variants if v not in VARIANTS]
    if unknown:
        parser.error(
            f"unknown model or variant {unknown}; models: {', '.join(MODELS)}; "
            f"variants: {', '.join(VARIANTS)}"
        )
    if args.repeats < 1 or args.steps < 1 or args.warmup < 0:
        parser.error("--repeats and --steps must be >= 1, --warmup >= 0")
    device = torch.device(args.device)
    if args.clock == "cpu" and (device.type != "cpu" or args.threads != 1):
        parser.error("--clock cpu measures one thread's CPU time: use it with --threads 1 on cpu")
    torch.set_num_threads(args.threads)
    clock = time.thread_time if args.clock == "cpu" else time.perf_counter
    load_before = _load()
    rows = [
        measure(
            m,
            variants=variants,
            repeats=args.repeats,
            steps=args.steps,
            warmup=args.warmup,
            device=device,
            clock=clock,
            fresh=not args.reuse,
        )
        for m in models
    ]
    load_after = _load()
    for row in rows:
        row.update(
            device=str(device),
            threads=args.threads,
            clock=args.clock,
            torch=torch.__version__,
            load_before=load_before,
            load_after=load_after,
        )
    if args.format == "json":
        json.dump(rows, sys.stdout, indent=2)
        print()
        return 0
    names = [f"{v.replace('-', '_')}_ratio" for v in variants[1:]]
    print(
        f"{'model':9s} {'params':>9s} {'batch':>5s} {'plain ms':>9s} "
        + " ".join(f"{n[:-6]:>21s}" for n in names)
    )
    for row in rows:
        cells = [f"{row[n]:6.3f}x [{row[n + '_ci'][0]:.3f}-{row[n + '_ci'][1]:.3f}]" for n in names]
        print(
            f"{row['model']:9s} {row['parameters']:9d} {row['batch']:5d} "
            f"{row['plain_step_s'] * 1e3:9.3f} " + " ".join(f"{c:>21s}" for c in cells)
        )
    print(
        f"(device {device}, {args.threads} thread(s), {args.clock} clock, torch {torch.__version__}; "
        f"{args.repeats} repetitions x {args.steps}-step blocks per variant, interleaved, "
        f"{'one set of objects' if args.reuse else 'fresh objects each repetition'}; median "
        "of paired block ratios with 95 % CI)"
    )
    print(f"load average before: {load_before}; after: {load_after}")
    name, limit = TARGET
    key = f"{name}_ratio"
    if key in names:
        for row in rows:
            lo, hi = row[key + "_ci"]
            verdict = "met" if row[key] <= limit else "NOT met"
            print(
                f"target {name} <= {limit}x on {row['model']}: {verdict} "
                f"(median {row[key]:.3f}x, 95 % CI {lo:.3f}-{hi:.3f})"
            )
    false = sum(row["detections_fault_free"] for row in rows)
    print(f"detections on these fault-free runs (false alarms): {false}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
