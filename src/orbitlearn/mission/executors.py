"""Where training jobs run: in this process, a process pool, or Ray.

Every executor runs the same pure function, :func:`orbitlearn.mission.jobs.run_training_job`,
on a :class:`~orbitlearn.mission.jobs.TrainingContext` shipped once per worker and a
:class:`~orbitlearn.mission.jobs.TrainingJob` per call, so the executor changes only where and
when a job runs, never its result: the same seed gives the same mission on every executor.

The engine submits a slice when it starts (its simulated duration is known from the counted
FLOPs) and collects the result at the slice's end event; slices of different satellites that
overlap in mission time therefore train in parallel.

* ``inprocess`` (default): jobs run lazily, when their result is first needed.
* ``process``: a :class:`concurrent.futures.ProcessPoolExecutor` with the ``spawn`` start method
  (``executor.workers`` processes); the context travels once per worker, as its initializer.
  As with any ``spawn`` pool, a script that runs a mission this way must start it under
  ``if __name__ == "__main__":`` (the workers import the main module).
* ``ray``: Ray tasks. ``executor.address`` joins an existing cluster (``ray.init(address=...)``);
  without it a local Ray is started with ``executor.workers`` CPUs and shut down at the end.
  The context is put in Ray's object store once. Ray is an optional dependency, imported only
  here and only for this executor.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
from abc import ABC, abstractmethod
from typing import Any

from orbitlearn.errors import MissingDependencyError
from orbitlearn.mission.jobs import TrainingContext, TrainingJob, TrainingResult, run_training_job

__all__ = [
    "Executor",
    "InProcessExecutor",
    "ProcessExecutor",
    "RayExecutor",
    "make_executor",
]


class Executor(ABC):
    """Runs training jobs; :meth:`submit` returns a handle, :meth:`result` waits for it."""

    kind: str = ""

    def __init__(self, context: TrainingContext) -> None:
        self.context = context

    @abstractmethod
    def submit(self, job: TrainingJob) -> Any:
        """Start ``job`` (or queue it); returns a handle for :meth:`result`."""

    @abstractmethod
    def result(self, handle: Any) -> TrainingResult:
        """The job's result (waits for it)."""

    def shutdown(self) -> None:  # noqa: B027 - optional hook
        """Release workers."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()


class _Lazy:
    __slots__ = ("job", "result")

    def __init__(self, job: TrainingJob) -> None:
        self.job = job
        self.result: TrainingResult | None = None


class InProcessExecutor(Executor):
    """Runs each job in this process when its result is first asked for."""

    kind = "inprocess"

    def submit(self, job: TrainingJob) -> _Lazy:
        return _Lazy(job)

    def result(self, handle: _Lazy) -> TrainingResult:
        if handle.result is None:
            handle.result = run_training_job(self.context, handle.job)
        return handle.result


# -- process pool ------------------------------------------------------------------------------

_WORKER_CONTEXT: TrainingContext | None = None


def _init_worker(context: TrainingContext) -> None:
    global _WORKER_CONTEXT
    _WORKER_CONTEXT = context


def _run_in_worker(job: TrainingJob) -> TrainingResult:
    assert _WORKER_CONTEXT is not None, "worker started without a training context"
    return run_training_job(_WORKER_CONTEXT, job)


class ProcessExecutor(Executor):
    """A pool of ``workers`` spawned processes."""

    kind = "process"

    def __init__(self, context: TrainingContext, workers: int = 2) -> None:
        super().__init__(context)
        self._pool = concurrent.futures.ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=(context,),
        )

    def submit(self, job: TrainingJob) -> concurrent.futures.Future[TrainingResult]:
        return self._pool.submit(_run_in_worker, job)

    def result(self, handle: concurrent.futures.Future[TrainingResult]) -> TrainingResult:
        return handle.result()

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


# -- Ray ----------------------------------------------------------------------------------------

_RAY_CONTEXTS: dict[str, TrainingContext] = {}


def _ray_run(context: TrainingContext, job: TrainingJob) -> TrainingResult:
    cached = _RAY_CONTEXTS.setdefault(context.key, context)
    return run_training_job(cached, job)


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise MissingDependencyError(
            "ray", "ray", "The Ray executor (executor.kind = 'ray')"
        ) from None
    return ray


class RayExecutor(Executor):
    """Ray tasks on a local Ray (``workers`` CPUs) or the cluster at ``address``."""

    kind = "ray"

    def __init__(
        self, context: TrainingContext, workers: int = 2, address: str | None = None
    ) -> None:
        super().__init__(context)
        ray = _import_ray()
        self._ray = ray
        self._owns_ray = False
        if not ray.is_initialized():
            if address:
                ray.init(address=address, logging_level="ERROR", log_to_driver=False)
            else:
                ray.init(
                    num_cpus=workers,
                    include_dashboard=False,
                    logging_level="ERROR",
                    log_to_driver=False,
                )
            self._owns_ray = True
        self._remote = ray.remote(num_cpus=1)(_ray_run)
        self._context_ref = ray.put(context)

    def submit(self, job: TrainingJob) -> Any:
        return self._remote.remote(self._context_ref, job)

    def result(self, handle: Any) -> TrainingResult:
        result: TrainingResult = self._ray.get(handle)
        return result

    def shutdown(self) -> None:
        if self._owns_ray and self._ray.is_initialized():
            self._ray.shutdown()
        self._owns_ray = False


def make_executor(
    kind: str, context: TrainingContext, *, workers: int = 2, address: str | None = None
) -> Executor:
    """An executor by configuration name (``inprocess``, ``process``, ``ray``).

    Raises:
        MissingDependencyError: ``ray`` without Ray installed.
        ValueError: an unknown kind (the configuration schema refuses it first).
    """
    if kind == "inprocess":
        return InProcessExecutor(context)
    if kind == "process":
        return ProcessExecutor(context, workers)
    if kind == "ray":
        return RayExecutor(context, workers, address)
    raise ValueError(f"unknown executor kind {kind!r}")
