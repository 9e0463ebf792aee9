"""Built-in tasks and models for fault-injection campaigns: small, offline, deterministic.

Tasks (:data:`TASK_NAMES`, loaded with :func:`load_task`):

- ``digits``: the UCI optical-recognition handwritten digits (1,797 images of 8x8 pixels, 16 grey
  levels, 10 classes) as bundled in scikit-learn's wheel (``sklearn.datasets.load_digits``): real
  data, nothing is downloaded. Needs scikit-learn (:class:`~orbitlearn.errors.MissingDependencyError`
  names the extra otherwise).
- ``synthetic``: 10 classes of 8x8 "images", each a fixed smooth random template plus Gaussian
  pixel noise, clipped to [0, 1]; the same sizes as ``digits`` and no dependency beyond torch.

Both are split once, by a fixed permutation (seed 0), into 1,437 training and 360 test samples
(the 80/20 split), with pixels scaled to [0, 1] and flattened to 64 features.

Models (:data:`MODEL_NAMES`, built with :func:`make_model`; the initialisation is drawn from a
generator seeded by ``seed`` without touching the global torch random state):

- ``mlp``: 64 -> 64 (ReLU) -> 10; 4,810 parameters.
- ``cnn``: 1x8x8 -> conv 3x3 (8) -> BatchNorm -> ReLU -> max-pool 2 -> conv 3x3 (16) -> ReLU ->
  max-pool 2 -> linear 64 -> 10; 1,914 parameters and BatchNorm running statistics (buffers, the
  state whose damage He et al. (ISCA 2023) call ``LowTestAccuracy``).

>>> task = load_task("synthetic")
>>> task.train_inputs.shape, task.test_inputs.shape, task.n_classes
(torch.Size([1437, 64]), torch.Size([360, 64]), 10)
>>> model = make_model("mlp", task, seed=0)
>>> sum(p.numel() for p in model.parameters())
4810
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import torch
from torch import nn

from orbitlearn.errors import InputError, MissingDependencyError

__all__ = [
    "MODEL_NAMES",
    "TASK_NAMES",
    "Task",
    "accuracy",
    "load_task",
    "make_model",
    "tensor_digest",
]

#: Built-in tasks.
TASK_NAMES = ("digits", "synthetic")
#: Built-in models.
MODEL_NAMES = ("mlp", "cnn")

_N_TRAIN = 1437  # 80 % of the 1,797 digits images
_N_SAMPLES = 1797
_SIDE = 8


@dataclass(frozen=True)
class Task:
    """A classification task held in memory.

    Attributes:
        name: the task's name.
        train_inputs: ``(n_train, 64)`` float32 pixels in [0, 1].
        train_targets: ``(n_train,)`` int64 class labels.
        test_inputs: ``(n_test, 64)`` float32 pixels in [0, 1].
        test_targets: ``(n_test,)`` int64 class labels.
        n_classes: number of classes.
        image_side: the images are ``image_side x image_side`` (inputs are flattened row-major).
        source: where the data comes from.
    """

    name: str
    train_inputs: torch.Tensor
    train_targets: torch.Tensor
    test_inputs: torch.Tensor
    test_targets: torch.Tensor
    n_classes: int
    image_side: int
    source: str

    @property
    def n_features(self) -> int:
        """Features per sample (pixels)."""
        return int(self.train_inputs.shape[1])

    def digest(self) -> str:
        """A hash of every tensor's bytes: proves the data was not modified by a run."""
        return tensor_digest(
            [self.train_inputs, self.train_targets, self.test_inputs, self.test_targets]
        )


def tensor_digest(tensors: list[torch.Tensor]) -> str:
    """BLAKE2b hex digest of the tensors' raw bytes (dtype, shape and bits; any device).

    >>> a = torch.tensor([0.0]); tensor_digest([a]) == tensor_digest([-a])
    False
    """
    digest = hashlib.blake2b(digest_size=16)
    for tensor in tensors:
        host = tensor.detach().to("cpu").contiguous()
        digest.update(f"{host.dtype}{tuple(host.shape)}".encode())
        digest.update(host.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def _split(inputs: torch.Tensor, targets: torch.Tensor, name: str, source: str) -> Task:
    order = torch.randperm(inputs.shape[0], generator=torch.Generator().manual_seed(0))
    train, test = order[:_N_TRAIN], order[_N_TRAIN:]
    return Task(
        name=name,
        train_inputs=inputs[train].contiguous(),
        train_targets=targets[train].contiguous(),
        test_inputs=inputs[test].contiguous(),
        test_targets=targets[test].contiguous(),
        n_classes=int(targets.max()) + 1,
        image_side=_SIDE,
        source=source,
    )


def _digits() -> Task:
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:  # pragma: no cover - scikit-learn is installed in development
        raise MissingDependencyError("sklearn", "tasks", "the built-in digits task") from exc
    data = load_digits()
    inputs = torch.as_tensor(data.data, dtype=torch.float32) / 16.0  # 16 grey levels: 0..16
    targets = torch.as_tensor(data.target, dtype=torch.int64)
    return _split(
        inputs,
        targets,
        "digits",
        "UCI optical recognition of handwritten digits, as bundled in scikit-learn (load_digits)",
    )


def _synthetic() -> Task:
    gen = torch.Generator().manual_seed(20230617)
    n_classes = 10
    # smooth templates: random 4x4 fields upsampled bilinearly to 8x8
    coarse = torch.rand(n_classes, 1, 4, 4, generator=gen)
    templates = nn.functional.interpolate(
        coarse, size=(_SIDE, _SIDE), mode="bilinear", align_corners=False
    ).reshape(n_classes, -1)
    targets = torch.arange(_N_SAMPLES) % n_classes
    noise = 0.25 * torch.randn(_N_SAMPLES, _SIDE * _SIDE, generator=gen)
    inputs = (templates[targets] + noise).clamp(0.0, 1.0)
    return _split(
        inputs,
        targets.to(torch.int64),
        "synthetic",
        "10 smooth random 8x8 templates plus Gaussian noise (sigma 0.25), seed 20230617",
    )


def load_task(name: str = "digits") -> Task:
    """A built-in task by name (see the module docstring).

    Raises:
        InputError: an unknown name.
        MissingDependencyError: ``digits`` without scikit-learn.

    >>> load_task("mnist")
    Traceback (most recent call last):
    ...
    orbitlearn.errors.InputError: Expected `task` to be one of 'digits', 'synthetic', actual: 'mnist'
    """
    if name == "digits":
        return _digits()
    if name == "synthetic":
        return _synthetic()
    raise InputError("task", name, "one of " + ", ".join(repr(n) for n in TASK_NAMES))


class _Images(nn.Module):
    """Reshape flat pixels ``(n, side*side)`` to images ``(n, 1, side, side)``."""

    def __init__(self, side: int) -> None:
        super().__init__()
        self.side = side

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], 1, self.side, self.side)


def make_model(name: str, task: Task, *, seed: int) -> nn.Module:
    """A built-in model for ``task``, initialised from ``seed`` (global RNG untouched).

    Raises:
        InputError: an unknown model name.
    """
    if name not in MODEL_NAMES:
        raise InputError("model", name, "one of " + ", ".join(repr(n) for n in MODEL_NAMES))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if name == "mlp":
            return nn.Sequential(
                nn.Linear(task.n_features, 64), nn.ReLU(), nn.Linear(64, task.n_classes)
            )
        side = task.image_side
        pooled = 16 * (side // 4) * (side // 4)
        return nn.Sequential(
            _Images(side),
            nn.Conv2d(1, 8, 3, padding=1),
            nn.BatchNorm2d(8),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(pooled, task.n_classes),
        )


def accuracy(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> float:
    """Share of samples classified correctly, in eval mode; a sample whose logits hold an
    INF/NaN counts as wrong (so a broken model scores low instead of NaN).

    The model's training mode is restored afterwards.
    """
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            device = next((p.device for p in model.parameters()), torch.device("cpu"))
            logits = model(inputs.to(device))
            right = (logits.argmax(dim=1) == targets.to(device)) & torch.isfinite(logits).all(dim=1)
            return float(right.float().mean())
    finally:
        model.train(was_training)
