"""Crash safety: SIGKILL a training process at random moments, then resume from its store.

Each trial starts a child process (from a fork server) that trains a small model with checkpoints every ``--every`` steps into
a store directory, resuming from that store first; the parent kills it with SIGKILL at a random
moment and then checks, from the store alone:

1. a checkpoint is loaded whenever one was reported durable, and it is never older than the
   newest durable one;
2. the loaded state is not corrupt: its weights equal, bit for bit, the weights of an
   uninterrupted reference run at the same step;
3. at most one checkpoint interval of work is lost (completed steps beyond the loaded one);
4. training resumes: a fresh trainer loads the state and its next step again equals the
   reference.

Half of the kills land at a uniformly random time in the child's run; the other half inside a
checkpoint save, so torn temp files, renamed-but-uncommitted payloads and half-pruned
generations all occur. Of those, half are timed by the parent (a random moment after a save
started, within the measured save duration: on a busy machine the save may end first, and the
kill then lands in training), and half are a SIGKILL the child sends itself just before a
random one of the save's first ``SAVE_IO_CALLS`` durability calls (``os.fsync`` /
``os.replace``: written but not synced, synced but not renamed, payload renamed but manifest
not committed, ...), which lands inside the save whatever the machine's load.
Several trials reuse one store (each child resumes where the previous one was killed).

Usage::

    python bench/crash_safety.py [--trials 200] [--format json]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import multiprocessing.context
import os
import random
import shutil
import signal
import statistics
import sys
import tempfile
import time
import traceback
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import torch
from torch import nn

from orbitlearn.healing import CheckpointInfo, CheckpointStore, bitwise_equal
from orbitlearn.onboard import OnboardTrainer, ResumableBatches

#: A save makes at least this many ``os.fsync`` / ``os.replace`` calls (payload fsync and
#: rename, directory fsync, manifest fsync and rename, directory fsync): a self-kill picks one.
SAVE_IO_CALLS = 6


def _trainer(store: CheckpointStore | None, every: int) -> OnboardTrainer:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(10, 16), nn.ReLU(), nn.Linear(16, 3))
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(256, 10, generator=gen)
    y = (x @ torch.randn(10, 3, generator=gen)).argmax(dim=1)
    return OnboardTrainer(
        model,
        torch.optim.Adam(model.parameters(), lr=1e-2),
        ResumableBatches(x, y, batch_size=16, seed=2),
        loss_fn=nn.functional.cross_entropy,
        healing="standard",
        checkpoints=store,
        checkpoint_every_steps=every if store is not None else 0,
        seed=3,
    )


class _NotifyingStore(CheckpointStore):
    """A store that reports the start and end of each save to the parent."""

    def __init__(
        self, directory: Path, conn: Connection, self_kill: tuple[int, int] | None = None
    ) -> None:
        super().__init__(directory, keep=3)
        self._conn = conn
        self._self_kill = self_kill  # (which save of this process, which durability call)
        self._saves = 0

    def arm_self_kill(self, save_number: int, call_index: int) -> None:
        """Die inside the ``save_number``-th save from now, before durability call ``call_index``."""
        self._self_kill, self._saves = (save_number, call_index), 0

    def save(self, state: Any, *, step: int, metadata: Any = None) -> CheckpointInfo:
        self._conn.send_bytes(f"save-begin {step}\n".encode())
        self._saves += 1
        if self._self_kill is not None and self._saves == self._self_kill[0]:
            _kill_self_before_io_call(self._self_kill[1])
        info = super().save(state, step=step, metadata=metadata)
        self._conn.send_bytes(f"save-end {step} {info.generation}\n".encode())
        return info


def _kill_self_before_io_call(index: int) -> None:
    """SIGKILL this process just before its ``index``-th ``os.fsync``/``os.replace`` from now."""
    calls = [0]

    def gate(real: Any) -> Any:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if calls[0] == index:
                os.kill(os.getpid(), signal.SIGKILL)
            calls[0] += 1
            return real(*args, **kwargs)

        return wrapped

    setattr(os, "fsync", gate(os.fsync))  # noqa: B010 - this child process only
    setattr(os, "replace", gate(os.replace))  # noqa: B010


def _child(
    directory: Path,
    conn: Connection,
    steps: int,
    every: int,
    self_kill: tuple[float, int] | None = None,
) -> None:
    """The training process: resume from the store, train to ``steps``, report progress.

    ``self_kill = (u, call)``: kill itself inside the save number ``1 + floor(u * n)`` of the
    ``n`` saves left after resuming, just before that save's durability call ``call``.
    """
    try:
        torch.set_num_threads(1)
        store = _NotifyingStore(directory, conn)
        trainer = _trainer(store, every)
        trainer.resume()
        if self_kill is not None:
            saves_left = max(1, (steps - trainer.step) // every)
            store.arm_self_kill(1 + int(self_kill[0] * saves_left), self_kill[1])
        conn.send_bytes(f"resumed {trainer.step}\n".encode())
        while trainer.step < steps:
            trainer.train_slice(max_steps=1)
            conn.send_bytes(f"step {trainer.step}\n".encode())
        conn.send_bytes(b"done\n")
    except BaseException:
        conn.send_bytes(f"error {traceback.format_exc().replace(chr(10), ' | ')}\n".encode())
        raise


def _reference(steps: int, every: int) -> list[dict[str, torch.Tensor]]:
    trainer = _trainer(None, every)
    states = [{k: v.clone() for k, v in trainer.model.state_dict().items()}]
    for _ in range(steps + 1):
        trainer.train_slice(max_steps=1)
        states.append({k: v.clone() for k, v in trainer.model.state_dict().items()})
    return states


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(bitwise_equal(a[k], b[k]) for k in a)


def _context() -> multiprocessing.context.BaseContext:
    """Children come from a fork server: a clean process that imported torch once. Forking the
    parent itself is not safe once it has run autograd (CUDA builds refuse backward in such a
    child), and spawning a fresh interpreter per trial would cost seconds."""
    ctx = multiprocessing.get_context("forkserver")
    # Adam's first construction imports torch._dynamo (~2 s): do it once, in the server
    ctx.set_forkserver_preload(
        ["torch", "torch._dynamo", "torch.optim", "orbitlearn.healing", "orbitlearn.onboard"]
    )
    return ctx


def _spawn(
    ctx: multiprocessing.context.BaseContext,
    directory: Path,
    steps: int,
    every: int,
    self_kill: tuple[float, int] | None = None,
) -> tuple[Any, Connection]:
    reader, writer = ctx.Pipe(duplex=False)
    process = ctx.Process(  # type: ignore[attr-defined]
        target=_child, args=(directory, writer, steps, every, self_kill), daemon=True
    )
    process.start()
    writer.close()  # the child holds the only write end: its death is our end of file
    return process, reader


def _read_available(conn: Connection, buffer: list[str], timeout_s: float) -> bool:
    """Read what the child sent within ``timeout_s``; False once it is gone."""
    try:
        if conn.poll(max(0.0, timeout_s)):
            while True:
                buffer.append(conn.recv_bytes().decode())
                if not conn.poll(0):
                    break
    except (EOFError, OSError):
        return False
    return True


def _raise_child_error(lines: list[str], what: str) -> None:
    for line in lines:
        if line.startswith("error "):
            raise AssertionError(f"{what}: the training process failed: {line[6:]}")


def _calibrate(
    ctx: multiprocessing.context.BaseContext, workdir: Path, steps: int, every: int
) -> tuple[float, float]:
    """Duration of a full child run and the median duration of one save, seconds."""
    directory = workdir / "calibration"
    started = time.perf_counter()
    process, conn = _spawn(ctx, directory, steps, every)
    lines: list[str] = []
    stamps: list[tuple[float, str]] = []
    while True:
        before = len(lines)
        alive = _read_available(conn, lines, 30.0)
        now = time.perf_counter()
        stamps += [(now, line) for chunk in lines[before:] for line in chunk.splitlines()]
        if not alive:
            break
    process.join()
    conn.close()
    total = time.perf_counter() - started
    _raise_child_error([line for _, line in stamps], "calibration run")
    if not any(line == "done" for _, line in stamps):
        raise AssertionError("the calibration run did not finish")
    begins = [t for t, line in stamps if line.startswith("save-begin")]
    ends = [t for t, line in stamps if line.startswith("save-end")]
    saves = [e - b for b, e in zip(begins, ends, strict=False) if e >= b]
    shutil.rmtree(directory, ignore_errors=True)
    return total, statistics.median(saves) if saves else 0.005


def run_trials(
    n_trials: int,
    *,
    workdir: Path | None = None,
    seed: int = 0,
    steps: int = 40,
    every: int = 4,
    kills_per_store: int = 4,
) -> dict[str, Any]:
    """Run ``n_trials`` kill/resume trials; return counts and the worst lost work.

    Raises:
        AssertionError: on any violated guarantee (the message says which trial and why).
    """
    own_dir = workdir is None
    root = Path(tempfile.mkdtemp(prefix="orbitlearn-crash-")) if workdir is None else Path(workdir)
    rng = random.Random(seed)
    reference = _reference(steps, every)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    ctx = _context()
    _calibrate(ctx, root, steps, every)  # the first run also starts the fork server
    run_s, save_s = _calibrate(ctx, root, steps, every)
    stats: dict[str, Any] = {
        "trials": 0,
        "kills_in_save": 0,
        "self_kills_in_save": 0,
        "kills_in_training": 0,
        "finished_before_kill": 0,
        "loaded_checkpoint": 0,
        "no_checkpoint_yet": 0,
        "corrupt_loaded": 0,
        "rejected_generations": 0,
        "debris_files_after_kill": 0,
        "max_lost_steps": 0,
        "checkpoint_every_steps": every,
        "steps_per_run": steps,
        "median_save_s": save_s,
        "run_s": run_s,
    }
    started = time.perf_counter()
    try:
        directory = root / "store-0"
        durable: int | None = None  # newest checkpoint step reported saved in this store
        kills_here = 0
        trial = -1
        while stats["trials"] < n_trials:
            trial += 1
            if trial > 3 * n_trials + 10:
                raise AssertionError(f"only {stats['trials']} of {n_trials} runs could be killed")
            if kills_here >= kills_per_store:
                directory = root / f"store-{trial}"
                durable, kills_here = None, 0
            in_save = trial % 2 == 1
            self_kill = (
                (rng.random(), rng.randrange(SAVE_IO_CALLS))
                if in_save and (trial // 2) % 2 == 0
                else None
            )
            process, conn = _spawn(ctx, directory, steps, every, self_kill)
            lines: list[str] = []
            kill_at: float | None = None
            target_save = 0
            seen_saves = 0
            alive = True
            while alive:
                now = time.perf_counter()
                if kill_at is not None and kill_at <= now:
                    os.kill(process.pid, signal.SIGKILL)
                    break
                before = len("".join(lines))
                alive = _read_available(conn, lines, 0.05 if kill_at is None else kill_at - now)
                text = "".join(lines)
                if self_kill is None and not target_save and "resumed" in text:
                    # schedule the kill within what is left of this child's run
                    start = int(text.split("resumed", 1)[1].split()[0])
                    left = max(1, steps - start)
                    if in_save:
                        target_save = rng.randint(1, max(1, left // every))
                    else:
                        target_save = -1
                        kill_at = time.perf_counter() + rng.uniform(0.0, run_s * left / steps)
                if in_save and target_save > 0 and kill_at is None:
                    seen_saves += text[before:].count("save-begin")
                    if seen_saves >= target_save:
                        kill_at = time.perf_counter() + rng.uniform(0.0, 1.5 * save_s)
            while _read_available(conn, lines, 1.0):  # drain what the child sent before dying
                pass
            conn.close()
            process.join()
            kills_here += 1
            events = "".join(lines).splitlines()
            _raise_child_error(events, f"trial {trial}")
            stats["trials"] += "done" not in events  # a trial is a kill; finished runs are extra
            completed = max(
                (int(e.split()[1]) for e in events if e.startswith(("step", "resumed"))), default=0
            )
            for e in events:
                if e.startswith("save-end"):
                    durable = int(e.split()[1])
            last_save = [e for e in events if e.startswith("save-")][-1:]
            if "done" in events:
                stats["finished_before_kill"] += 1
            elif last_save and last_save[0].startswith("save-begin"):
                stats["kills_in_save"] += 1
                stats["self_kills_in_save"] += self_kill is not None
            else:
                stats["kills_in_training"] += 1
            stats["debris_files_after_kill"] += (
                sum(1 for name in os.listdir(directory) if name.startswith(".tmp-"))
                if directory.exists()
                else 0
            )

            store = CheckpointStore(directory) if directory.exists() else None
            loaded = store.load_latest() if store is not None else None
            if loaded is None:
                assert durable is None, (
                    f"trial {trial}: checkpoint at step {durable} was durable but none loads"
                )
                stats["no_checkpoint_yet"] += 1
                loaded_step = 0
            else:
                stats["loaded_checkpoint"] += 1
                stats["rejected_generations"] += len(loaded.rejected)
                loaded_step = loaded.info.step
                # a save can commit just before the kill without having reported it: newer is fine
                assert durable is None or loaded_step >= durable, (
                    f"trial {trial}: loaded step {loaded_step}, older than durable step {durable}"
                )
                if not _same(loaded.state["model"], reference[loaded_step]):
                    stats["corrupt_loaded"] += 1
                    raise AssertionError(
                        f"trial {trial}: checkpoint at step {loaded_step} is corrupt"
                    )
            lost = completed - loaded_step
            stats["max_lost_steps"] = max(stats["max_lost_steps"], lost)
            assert lost <= every, f"trial {trial}: lost {lost} steps > one interval ({every})"
            # training resumes from the store: the next step again matches the reference
            resumed = _trainer(None, every)
            if loaded is not None:
                resumed.load_state_dict(loaded.state)
            resumed.train_slice(max_steps=1)
            assert resumed.step == loaded_step + 1
            assert _same(resumed.model.state_dict(), reference[loaded_step + 1]), (
                f"trial {trial}: the resumed step diverged from the reference"
            )
            if "done" in events:
                kills_here = kills_per_store  # the store is complete: start a new one
    finally:
        torch.set_num_threads(threads)
        if own_dir:
            shutil.rmtree(root, ignore_errors=True)
    stats["wall_s"] = time.perf_counter() - started
    return stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--every", type=int, default=4)
    parser.add_argument("--format", choices=("text", "json"), default="text")
    args = parser.parse_args(argv)
    stats = run_trials(args.trials, seed=args.seed, every=args.every)
    if args.format == "json":
        json.dump(stats, sys.stdout, indent=2)
        print()
    else:
        for key, value in stats.items():
            print(f"{key:26s} {value:.3f}" if isinstance(value, float) else f"{key:26s} {value}")
        print(
            "all guarantees held: no corrupt checkpoint loaded, every kill resumed, "
            f"at most {stats['max_lost_steps']} steps lost (interval {args.every})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
