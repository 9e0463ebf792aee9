"""orbitlearn.federation: how satellites learn together.

Modules, bottom to top:

- :mod:`~orbitlearn.federation.tensors`: models as named numpy arrays; the torch boundary.
- :mod:`~orbitlearn.federation.messages`: :class:`ModelUpdate` / :class:`GlobalModel` and their
  deterministic binary encoding (exact ``size_bytes``).
- :mod:`~orbitlearn.federation.compression`: int8 quantisation, top-k with error feedback.
- :mod:`~orbitlearn.federation.security`: SHA-256 integrity, HMAC-SHA256 per-satellite
  signatures (:class:`KeyRing`), replay protection, rejection counters.
- :mod:`~orbitlearn.federation.aggregation`, :mod:`~orbitlearn.federation.staleness`: robust
  aggregation rules and staleness weighting.
- :mod:`~orbitlearn.federation.plan`: :class:`ContactPlan`, the known future contacts.
- :mod:`~orbitlearn.federation.strategies`: the :class:`Strategy` seam the mission engine drives
  (its docstring describes the event flow) and FedAvg, FedProx, FedAsync, FedBuff,
  orbit-aware scheduling and ISL relay.
- :mod:`~orbitlearn.federation.client`, :mod:`~orbitlearn.federation.server`: the satellite and
  ground endpoints that tie messages, compression, security and the strategy together.
- :mod:`~orbitlearn.federation.proximal` (torch): FedProx's proximal term for local training.
- :mod:`~orbitlearn.federation.flower` (optional ``flwr``): a Flower strategy as aggregation rule.

Importing this package imports neither torch nor flwr; ``proximal_term``,
``global_reference`` and ``FlowerAggregation`` are loaded on first use.
"""

from __future__ import annotations

from typing import Any

from orbitlearn.federation.aggregation import (
    AggregationRule,
    CoordinateMedian,
    NormClip,
    TrimmedMean,
    WeightedMean,
    aggregation_rule,
    clip_by_norm,
)
from orbitlearn.federation.client import FederationClient
from orbitlearn.federation.compression import UpdateCompressor, quantize_int8, topk_indices
from orbitlearn.federation.messages import (
    GROUND_SENDER_ID,
    Codec,
    EncodedTensor,
    GlobalModel,
    ModelUpdate,
    decode_message,
)
from orbitlearn.federation.plan import ContactPlan
from orbitlearn.federation.security import (
    FRAME_OVERHEAD_BYTES,
    FrameVerifier,
    KeyRing,
    RejectReason,
    Verdict,
    frame_size_bytes,
    seal,
)
from orbitlearn.federation.server import FederationServer, ServerReceipt
from orbitlearn.federation.staleness import (
    ConstantStaleness,
    HingeStaleness,
    PolynomialStaleness,
    StalenessWeight,
    staleness_weight,
)
from orbitlearn.federation.strategies import (
    STRATEGIES,
    AggregationResult,
    FedAsync,
    FedAvg,
    FedBuff,
    FedProx,
    ISLRelay,
    LocalTrainingConfig,
    OrbitAware,
    Receipt,
    Strategy,
    combine_updates,
    make_strategy,
    walker_planes,
)
from orbitlearn.federation.tensors import (
    NamedArrays,
    arrays_to_state_dict,
    state_dict_to_arrays,
)

__all__ = [
    "FRAME_OVERHEAD_BYTES",
    "GROUND_SENDER_ID",
    "STRATEGIES",
    # aggregation
    "AggregationResult",
    "AggregationRule",
    # messages
    "Codec",
    # staleness
    "ConstantStaleness",
    # plan
    "ContactPlan",
    "CoordinateMedian",
    "EncodedTensor",
    # strategies
    "FedAsync",
    "FedAvg",
    "FedBuff",
    "FedProx",
    # endpoints
    "FederationClient",
    "FederationServer",
    "FlowerAggregation",
    # security
    "FrameVerifier",
    "GlobalModel",
    "HingeStaleness",
    "ISLRelay",
    "KeyRing",
    "LocalTrainingConfig",
    "ModelUpdate",
    # tensors
    "NamedArrays",
    "NormClip",
    "OrbitAware",
    "PolynomialStaleness",
    "Receipt",
    "RejectReason",
    "ServerReceipt",
    "StalenessWeight",
    "Strategy",
    "TrimmedMean",
    # compression
    "UpdateCompressor",
    "Verdict",
    "WeightedMean",
    "aggregation_rule",
    "arrays_to_state_dict",
    "clip_by_norm",
    "combine_updates",
    "decode_message",
    "frame_size_bytes",
    "global_reference",
    "make_strategy",
    "proximal_term",
    "quantize_int8",
    "seal",
    "staleness_weight",
    "state_dict_to_arrays",
    "topk_indices",
    "walker_planes",
]

_LAZY = {
    "proximal_term": "orbitlearn.federation.proximal",
    "global_reference": "orbitlearn.federation.proximal",
    "FlowerAggregation": "orbitlearn.federation.flower",
}


def __getattr__(name: str) -> Any:
    """Load the torch- and flwr-dependent parts on first use."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
