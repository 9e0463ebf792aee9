"""Contact-gated synchronous FedProx.

FedProx (Li, Sahu, Zaheer, Sanjabi, Talwalkar, Smith, "Federated Optimization in Heterogeneous
Networks", MLSys 2020, arXiv:1812.06127) keeps FedAvg's protocol and adds a proximal term
``mu / 2 * ||w - w_global||^2`` to every local loss, which limits client drift on non-IID data
and makes partial local work usable. The satellites learn ``mu`` from
:attr:`~orbitlearn.federation.strategies.base.LocalTrainingConfig.proximal_mu`; the onboard
trainer adds :func:`orbitlearn.federation.proximal.proximal_term` to its loss.
"""

from __future__ import annotations

from typing import Any

from orbitlearn.errors import InputError
from orbitlearn.federation.plan import ContactPlan
from orbitlearn.federation.strategies.fedavg import FedAvg

__all__ = ["FedProx"]


class FedProx(FedAvg):
    """:class:`FedAvg` with a proximal coefficient ``proximal_mu > 0`` (default 0.01)."""

    name = "fedprox"

    def __init__(self, plan: ContactPlan, *, proximal_mu: float = 0.01, **kwargs: Any) -> None:
        ok = isinstance(proximal_mu, (int, float)) and not isinstance(proximal_mu, bool)
        if not ok or not proximal_mu > 0:
            raise InputError(
                "proximal_mu", proximal_mu, "a number > 0", hint="use FedAvg for mu = 0"
            )
        super().__init__(plan, proximal_mu=proximal_mu, **kwargs)
