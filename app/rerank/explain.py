"""Why two sentences match: the optimal transport plan behind a WMD or WRD score.

`distances.wmd_prepared` / `wrd_prepared` return only the optimal cost; this solves the same
problem with ``ot.emd`` and returns the whole solution, so a client can show which token of
one sentence sends its mass to which token of the other.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import ot
from scipy.spatial.distance import cdist

from app.rerank.distances import Prepared, RerankMethod, prepare


class TransportPlan(NamedTuple):
    """The optimal transport between two sentences' tokens.

    weights_a : (n,) float64, the mass of each token of a; sums to 1
    weights_b : (m,) float64, the mass of each token of b; sums to 1
    cost : (n, m) float64 ground cost ``d_ij`` (Euclidean for WMD, ``1 - cos`` for WRD)
    plan : (n, m) float64 optimal flow ``gamma_ij >= 0``; rows sum to `weights_a`, columns
        to `weights_b`; an exact EMD solution has at most ``n + m - 1`` non-zero entries
    distance : ``sum(plan * cost)``, equal to `distances.distance(method, a, b)`
    """

    weights_a: np.ndarray
    weights_b: np.ndarray
    cost: np.ndarray
    plan: np.ndarray
    distance: float


def _problem(
    method: RerankMethod, a: Prepared, b: Prepared
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if a.vectors.shape[1] != b.vectors.shape[1]:
        raise ValueError(
            f"token dimensions differ: a has {a.vectors.shape[1]}, b has {b.vectors.shape[1]}"
        )
    if method is RerankMethod.WMD:
        n, m = len(a.vectors), len(b.vectors)
        return np.full(n, 1.0 / n), np.full(m, 1.0 / m), cdist(a.vectors, b.vectors)
    if a.wrd_weights is None or b.wrd_weights is None:
        raise ValueError("every token vector of a sentence is zero; WRD weights are undefined")
    return a.wrd_weights, b.wrd_weights, np.clip(1.0 - a.unit @ b.unit.T, 0.0, 2.0)


def transport_plan(method: RerankMethod | str, a: np.ndarray, b: np.ndarray) -> TransportPlan:
    """Solve WMD or WRD between two sentences exactly and return the plan with its inputs.

    Parameters
    ----------
    method : "wmd" or "wrd"
    a : (n, d) float array, token vectors of the first sentence
    b : (m, d) float array, token vectors of the second sentence

    Returns
    -------
    TransportPlan
        See its docstring for shapes; inputs are not modified.

    Raises
    ------
    ValueError
        Unknown method, empty or non-finite arrays, different dimensions, or (WRD) a
        sentence whose token vectors are all zero.
    """
    method = RerankMethod.parse(method)
    pa, pb = prepare(a, "a"), prepare(b, "b")
    p, q, cost = _problem(method, pa, pb)
    cost = np.ascontiguousarray(cost)
    plan = ot.emd(p, q, cost, check_marginals=False)
    return TransportPlan(p, q, cost, plan, float(np.sum(plan * cost)))


def heaviest_flow(plan: np.ndarray) -> tuple[int, int]:
    """(i, j) of the largest entry of an (n, m) plan; the first one on ties (row-major)."""
    plan = np.asarray(plan)
    if plan.ndim != 2 or plan.size == 0:
        raise ValueError(f"plan must be a non-empty (n, m) array, got shape {plan.shape}")
    i, j = np.unravel_index(int(np.argmax(plan)), plan.shape)
    return int(i), int(j)
