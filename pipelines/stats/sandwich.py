"""lifelines' Cox fitter with its robust (sandwich) variance computed in time linear in the rows.

Not used by the pipeline any more (its Cox models are fitted by :mod:`pipelines.stats.counting_cox`,
R ``coxph``'s numbers; docs/statistics.md): kept because ``benchmarks/bare.py``, the benchmarks'
bare-lifelines reference, imports it.

For ``cluster_col`` (or ``robust=True``) lifelines needs every row's score residual, and its
``_compute_score_within_strata`` sums, for row i, a term over all rows before it: quadratic in
the rows (20k rows: 2 s, 80k: 21 s; at a million operations, hours).  The same sums are running
sums, so :class:`ClusteredCoxPHFitter` overrides that one method with cumulative sums: the same
formula on the same sorted, normalised inputs lifelines passes in, so every number (coefficients,
robust standard errors, the proportional-hazards tests that use them) is lifelines' own; a test
checks it against the stock fitter.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter
from lifelines.fitters.coxph_fitter import SemiParametricPHFitter


class ClusteredCoxPHFitter(CoxPHFitter):
    """:class:`lifelines.CoxPHFitter` whose score residuals (robust variance) take O(rows x terms).

    ``CoxPHFitter`` fits right-censored data through an inner ``SemiParametricPHFitter``; this
    builds the inner fitter with the one method replaced, exactly as ``_fit_model_breslow`` does.
    """

    def _fit_model_breslow(self, *args, **kwargs) -> SemiParametricPHFitter:
        model = _LinearScorePHFitter(
            penalizer=self.penalizer, l1_ratio=self.l1_ratio, strata=self.strata, alpha=self.alpha, label=self._label
        )
        model.fit(*args, **kwargs)
        return model


class _LinearScorePHFitter(SemiParametricPHFitter):
    def _compute_score_within_strata(
        self, X: pd.DataFrame, _T: pd.Series, E: pd.Series, weights: pd.Series, entries: None
    ) -> np.ndarray:
        """Score residuals as lifelines defines them (rows sorted by time, risk sets by position).

        lifelines: ``r_i = E_i (x_i - m_i) - phi_i * sum_{k <= i} c_k (x_i - m_k)`` with
        ``m_k = sum_{j >= k} w_j phi_j x_j / b_k``, ``b_k = sum_{j >= k} w_j phi_j`` and
        ``c_k = E_k w_k / b_k``; the sum over k is ``x_i C_i - M_i`` with the running sums
        ``C_i = sum_{k <= i} c_k`` and ``M_i = sum_{k <= i} c_k m_k``.
        """
        x = X.to_numpy(dtype=float)
        event = E.to_numpy().astype(int)
        weight = weights.to_numpy(dtype=float)
        beta = self.params_.to_numpy() * self._norm_std.to_numpy()  # lifelines' X is normalised here
        phi = np.exp(x @ beta)
        weighted_phi = weight * phi
        at_risk = weighted_phi[::-1].cumsum()[::-1]
        mean = (x * weighted_phi[:, None])[::-1].cumsum(0)[::-1] / at_risk[:, None]
        c = event * weight / at_risk
        running_c = np.cumsum(c)
        running_cm = np.cumsum(c[:, None] * mean, axis=0)
        score = event[:, None] * (x - mean) - phi[:, None] * (x * running_c[:, None] - running_cm)
        return score * weight[:, None]
