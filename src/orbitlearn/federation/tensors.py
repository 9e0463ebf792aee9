"""Named tensors: the model parameters the federation moves around.

Inside :mod:`orbitlearn.federation` a model is a :data:`NamedArrays` mapping, an ordered
``dict[str, numpy.ndarray]`` with the same keys as a PyTorch ``state_dict``. Strategies,
compression, messages and aggregation all work on numpy arrays so that the aggregator (the
ground segment) never needs torch. The boundary with PyTorch is two functions:
:func:`state_dict_to_arrays` (onboard model -> arrays) and :func:`arrays_to_state_dict`
(arrays -> tensors ready for ``model.load_state_dict``). torch is imported lazily inside them.

Floating-point tensors are what federated learning averages; integer and boolean tensors (for
example BatchNorm's ``num_batches_tracked`` counter) travel unchanged and are combined by an
element-wise maximum (see :mod:`orbitlearn.federation.aggregation`).

>>> import numpy as np
>>> a = {"w": np.ones((2, 2), np.float32), "steps": np.array(3)}
>>> float_keys(a)
('w',)
>>> d = subtract(a, {"w": np.zeros((2, 2), np.float32), "steps": np.array(1)})
>>> d["w"].tolist(), int(d["steps"])
([[1.0, 1.0], [1.0, 1.0]], 3)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from orbitlearn.errors import InputError

__all__ = [
    "NamedArrays",
    "add_scaled",
    "arrays_to_state_dict",
    "check_same_layout",
    "copy_arrays",
    "float_keys",
    "global_l2_norm",
    "is_float_array",
    "state_dict_to_arrays",
    "subtract",
]

#: A model as named numpy arrays, in ``state_dict`` order.
NamedArrays = dict[str, NDArray[Any]]


def is_float_array(array: NDArray[Any]) -> bool:
    """Whether ``array`` holds floating-point values (the ones federated learning averages)."""
    return bool(np.issubdtype(array.dtype, np.floating))


def float_keys(arrays: Mapping[str, NDArray[Any]]) -> tuple[str, ...]:
    """Names of the floating-point tensors of ``arrays``, in order."""
    return tuple(name for name, array in arrays.items() if is_float_array(array))


def copy_arrays(arrays: Mapping[str, NDArray[Any]]) -> NamedArrays:
    """A deep copy (new, contiguous, writable arrays) of ``arrays``."""
    return {name: np.array(array, copy=True, order="C") for name, array in arrays.items()}


def check_same_layout(
    reference: Mapping[str, NDArray[Any]], other: Mapping[str, NDArray[Any]], what: str
) -> None:
    """Raise :class:`InputError` unless ``other`` has the names, shapes and dtypes of ``reference``.

    Args:
        reference: the layout to match (usually the global model).
        other: the arrays to check.
        what: how to name ``other`` in the error (``"update from satellite 3"``).
    """
    if list(reference) != list(other):
        missing = [k for k in reference if k not in other]
        extra = [k for k in other if k not in reference]
        raise InputError(
            f"{what} tensor names",
            list(other),
            f"the names of the global model in the same order (missing {missing}, unexpected {extra})",
        )
    for name, ref in reference.items():
        arr = other[name]
        if arr.shape != ref.shape:
            raise InputError(f"{what} tensor `{name}` shape", arr.shape, f"{ref.shape}")
        if arr.dtype != ref.dtype:
            raise InputError(f"{what} tensor `{name}` dtype", str(arr.dtype), f"{ref.dtype}")


def subtract(a: Mapping[str, NDArray[Any]], b: Mapping[str, NDArray[Any]]) -> NamedArrays:
    """``a - b`` for floating-point tensors; integer/bool tensors are taken from ``a``.

    This is how a model delta is formed: ``subtract(trained, global)``.
    """
    out: NamedArrays = {}
    for name, array in a.items():
        if is_float_array(array):
            out[name] = (array - b[name]).astype(array.dtype, copy=False)
        else:
            out[name] = np.array(array, copy=True)
    return out


def add_scaled(
    base: Mapping[str, NDArray[Any]], delta: Mapping[str, NDArray[Any]], scale: float
) -> NamedArrays:
    """``base + scale * delta`` for floating-point tensors, in the dtype of ``base``.

    Integer/bool tensors take the element-wise maximum of ``base`` and ``delta`` (counters such
    as ``num_batches_tracked`` only grow).
    """
    out: NamedArrays = {}
    for name, array in base.items():
        if is_float_array(array):
            summed = array.astype(np.float64) + scale * delta[name].astype(np.float64)
            out[name] = summed.astype(array.dtype)
        else:
            out[name] = np.maximum(array, delta[name]).astype(array.dtype)
    return out


def global_l2_norm(arrays: Mapping[str, NDArray[Any]]) -> float:
    """L2 norm of all floating-point tensors of ``arrays`` taken together (as one vector)."""
    total = 0.0
    for array in arrays.values():
        if is_float_array(array):
            flat = array.astype(np.float64, copy=False).ravel()
            total += float(np.dot(flat, flat))
    return float(np.sqrt(total))


def state_dict_to_arrays(state_dict: Mapping[str, Any]) -> NamedArrays:
    """Convert a PyTorch ``state_dict`` to :data:`NamedArrays` (copies, on the CPU).

    ``bfloat16`` tensors, which numpy cannot hold, become ``float32`` (exact: every bfloat16
    value is a float32 value); :func:`arrays_to_state_dict` with ``like=`` casts them back.

    Raises:
        InputError: a value is not a tensor or array.
    """
    import torch

    out: NamedArrays = {}
    for name, value in state_dict.items():
        if isinstance(value, torch.Tensor):
            tensor = value.detach().to("cpu")
            if tensor.dtype == torch.bfloat16:
                tensor = tensor.to(torch.float32)
            out[name] = tensor.numpy().copy()
        elif isinstance(value, np.ndarray):
            out[name] = value.copy()
        else:
            raise InputError(f"state_dict[{name!r}]", type(value).__name__, "a tensor or array")
    return out


def arrays_to_state_dict(
    arrays: Mapping[str, NDArray[Any]], like: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Convert :data:`NamedArrays` to ``torch.Tensor`` values for ``model.load_state_dict``.

    Args:
        arrays: the named arrays.
        like: an optional reference ``state_dict``; each tensor is then cast to the dtype and
            moved to the device of the reference tensor of the same name.

    Returns:
        ``dict[str, torch.Tensor]`` in the order of ``arrays``.
    """
    import torch

    out: dict[str, Any] = {}
    for name, array in arrays.items():
        tensor = torch.from_numpy(np.array(array, copy=True))
        if like is not None and name in like and isinstance(like[name], torch.Tensor):
            ref = like[name]
            tensor = tensor.to(dtype=ref.dtype, device=ref.device)
        out[name] = tensor
    return out
