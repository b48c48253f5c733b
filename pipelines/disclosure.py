"""Small-count suppression of everything an analysis publishes, decided once, before results are written.

Every count an analysis publishes (its ``results.*`` tables, read by the ``published.v_*`` views, the
report, the plots' legends and numbers at risk, and the limits footnote) goes through
:func:`suppress`, which adds a ``<column>_suppressed`` boolean beside each count column.  The views
publish a flagged count as NULL; the plots and footnotes print it as :data:`MARK`.  Nothing else
decides what is withheld, so the same count is withheld wherever it appears.

The decision, for threshold k (``GIST_MIN_CELL_COUNT``):

* **Primary**: a count from 1 to k - 1 is withheld.  Zero is shown.
* **Secondary (complementary)**: every linear identity that ties published counts together is
  written down (``_System``): a group's n = events + censored, the same n in every endpoint and
  view, Table 1's levels + missing = n and its ``(all)`` column = the sum of the groups, the
  model n/events against the groups', events so far and numbers at risk along the landmarks
  and the plots' at-risk ticks, a binary outcome's n + missing = the group, the cohort flow's chain (each box = the one before less
  its exclusion; the last = its exclusion + the groups' n).  Quantities that are
  never published but follow from published ones by subtraction (events between two landmarks,
  subjects leaving between two at-risk ticks, events among subjects a model excluded, non-events
  of a binary outcome) are unknowns of that system and count as small cells too.  A withheld (or
  derived) small value must not be determined by the published values: it is determined exactly
  when the unit vector of its cell lies in the row space of the identities restricted to the
  withheld cells (equivalently: every null vector of that matrix is zero there).  While one is
  determined, a nearby published non-zero count that makes it undetermined is withheld as well
  (fewest identities first, then smallest; see ``_complement``), and the check repeats.  Complements
  the published counts determine anyway are published again at the end.  A second check covers what the rank test cannot see: withheld
  counts are never 0, so an identity whose withheld cells must sum to exactly their number would
  give each of them away as 1; another cell of that identity is then withheld too.
* Primary and complementary cells are flagged alike (one flag, one mark): telling them apart
  would tell an attacker that a complementary cell is >= k, a bound that can pin a small one.

Conservative where unsure: an identity that holds only when nothing unusual happened (e.g. a model
that fits every subject) is assumed known to the attacker when its slack is 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.linalg

from pipelines.stats.plots import risk_table_times
from pipelines.stats.table_one import ALL_GROUPS, PATIENTS

MARK = "supp."  # how a withheld count is printed (report, plots, footnotes): the same for every withheld count
COUNTS: dict[str, tuple[str, ...]] = {
    "km_summary": ("n", "events", "censored"),
    "km_landmarks": ("n_at_risk", "n_events"),
    "km_at_risk": ("n_at_risk",),
    "logrank": ("n", "observed"),
    "cox": ("n", "events", "n_excluded_missing", "n_clusters"),
    "immortal_time": ("n", "events", "n_excluded_missing", "n_clusters"),
    "binary_outcome": ("n", "n_missing", "events"),
    "table_one": ("n", "n_missing", "count"),
    "iptw_cox": ("n", "events", "n_excluded_missing", "n_clusters"),
    "iptw_positivity": ("n", "n_excluded_missing", "n_outside_overlap", "n_extreme_weights", "n_truncated"),
    "rmst": ("n",),
    "cumulative_incidence": ("n_at_risk", "n_events"),
    "competing_cox": ("n", "events", "n_excluded_missing", "n_clusters"),
    "cohort_flow": ("n",),
}
_TRIED = 6  # complements tried per determined value, on the identities around it
AT_RISK_SCHEMA = {
    "analysis_id": "string",
    "endpoint": "string",
    "group": "string",
    "time": "float64",
    "n_at_risk": "int64",
}


def flag(column: str) -> str:
    return f"{column}_suppressed"


def at_risk_table(km_curve: pd.DataFrame, groups: Iterable[str], **keys: object) -> pd.DataFrame:
    """Subjects at risk (time >= t, as ``km_landmarks``) per group at the plot's tick times."""
    curve = km_curve
    last = float(curve["time"].max()) if len(curve) else 1.0
    rows = []
    for label in groups:
        own = curve[curve["group"] == label].sort_values("time")
        times, at_risk = own["time"].to_numpy(float), own["n_at_risk"].to_numpy(int)
        for t in risk_table_times(last):
            later = np.flatnonzero(times >= t - 1e-9)
            rows.append(
                {**keys, "group": label, "time": float(t), "n_at_risk": int(at_risk[later[0]]) if later.size else 0}
            )
    schema = {
        **{k: "string" for k in keys},
        **{k: v for k, v in AT_RISK_SCHEMA.items() if k not in ("analysis_id", "endpoint")},
    }
    return pd.DataFrame(rows, columns=list(schema)).astype(schema)


@dataclass
class _System:
    """Cells (published counts), unknowns (derived, never published) and the identities between them."""

    k: int
    values: dict[object, int] = field(default_factory=dict)
    published: dict[object, bool] = field(default_factory=dict)  # False: an unknown (derived, never published)
    relations: list[dict[object, int]] = field(default_factory=list)
    places: dict[object, list[tuple[str, int, str]]] = field(default_factory=dict)  # cell -> (table, row, column)

    def cell(self, key: object, value: object, place: tuple[str, int, str] | None = None) -> object:
        """A published count; the same key in two places is the same quantity (a conflicting value gets its own key)."""
        if value is None or pd.isna(value):
            return None
        value = int(value)
        if key in self.values and (self.values[key] != value or not self.published[key]):
            key = (key, place)
        self.values.setdefault(key, value)
        self.published.setdefault(key, True)
        if place:
            self.places.setdefault(key, []).append(place)
        return key

    def relate(self, terms: Mapping[object, int], derived: object = None, structural: bool = False) -> None:
        """sum(coef * cell) = 0; with ``derived``, sum(coef * cell) = derived, an unknown of the attacker.

        A structural derived quantity (an identity that holds unless something unusual happened) is assumed
        known when it is 0: the identity itself is then added.
        """
        if any(key is None or key not in self.values for key in terms):
            return  # a quantity that is not there (e.g. no clusters): no identity
        terms = {key: coef for key, coef in terms.items() if coef}
        if derived is not None:
            value = sum(coef * self.values[key] for key, coef in terms.items())
            if not (structural and value == 0):
                self.values[derived], self.published[derived] = value, False
                terms = {**terms, derived: -1}
        if terms:
            self.relations.append(terms)

    def small(self, key: object) -> bool:
        return 0 < self.values[key] < self.k

    def solve(self) -> set[object]:
        """The cells to withhold: primary, then complementary until no small value is determined.

        Last, a complementary cell that the published ones determine anyway is published again: it adds
        nothing an attacker could not compute (and the greedy rounds leave a few).
        """
        if self.k <= 1:
            return set()
        hidden = {key for key in self.values if not self.published[key] or self.small(key)}
        for component in self._components():
            hidden |= self._protect(component, hidden & component)
        redundant = [
            key
            for key in self._determined(self.relations, hidden, everything=True)
            if self.published[key] and not self.small(key)
        ]
        return {key for key in hidden if self.published[key]} - set(redundant)

    def _components(self) -> list[set[object]]:
        parent = {key: key for key in self.values}

        def root(key: object) -> object:
            while parent[key] != key:
                parent[key] = parent[parent[key]]
                key = parent[key]
            return key

        for relation in self.relations:
            first, *rest = relation
            for other in rest:
                parent[root(other)] = root(first)
        groups: dict[object, set[object]] = {}
        for key in self.values:
            groups.setdefault(root(key), set()).add(key)
        return list(groups.values())

    def _protect(self, component: set[object], hidden: set[object]) -> set[object]:
        """Withhold further cells of ``component`` until no small withheld value is determined.

        Each round withholds, for every determined (or pinned) small value, the smallest published non-zero
        count of an identity it is in (else of the component), unless an identity it is in already got one
        this round; then the check runs again.  Greedy, not a minimal pattern.
        """
        relations = [r for r in self.relations if next(iter(r)) in component]
        hidden = set(hidden)
        by_key: dict[object, list[dict[object, int]]] = {}
        for relation in relations:
            for key in relation:
                by_key.setdefault(key, []).append(relation)
        for _ in range(len(component) + 1):
            exposed = self._determined(relations, hidden) or self._pinned(relations, hidden)
            if not exposed:
                return hidden
            added: set[object] = set()
            for target in exposed:
                if any(key in added for r in by_key.get(target, []) for key in r):
                    continue  # an identity of this value already lost a published cell this round
                chosen = self._complement(target, by_key, hidden)
                if chosen is not None:
                    added.add(chosen)
            if not added:
                return hidden
            hidden |= added
        return hidden

    def _complement(
        self, target: object, by_key: dict[object, list[dict[object, int]]], hidden: set[object]
    ) -> object | None:
        """The published cell to withhold so that ``target`` is no longer determined.

        Candidates are the published non-zero counts in an identity with ``target`` or with a withheld cell
        next to it; tried in order of how few identities they are in (a group's n is in many: withholding it
        spreads), then value, on the identities around ``target`` (the global check follows every round).
        Without one that frees it locally: the smallest of the nearest.
        """
        near = {target} | {key for r in by_key.get(target, []) for key in r if key in hidden}
        candidates = {
            key
            for h in near
            for r in by_key.get(h, [])
            for key in r
            if key not in hidden and self.published[key] and self.values[key] > 0
        }
        local = {id(r): r for h in near for r in by_key.get(h, [])}
        ranked = sorted(candidates, key=lambda key: (len(by_key.get(key, [])), self.values[key], str(key)))
        for key in ranked[:_TRIED]:
            around = [*local.values(), *(r for r in by_key.get(key, []) if id(r) not in local)]
            if target not in self._determined(around, hidden | {key}, [target]):
                return key
        _, nearest = self._nearest_published(target, by_key, hidden)
        return min(nearest, key=lambda key: (self.values[key], str(key))) if nearest else None

    def _nearest_published(
        self, target: object, by_key: dict[object, list[dict[object, int]]], hidden: set[object]
    ) -> tuple[int, list[object]]:
        """Published non-zero counts in an identity with ``target`` (depth 0), else with a withheld cell that is
        (depth 1), and so on: the cells whose withholding can break the chain that determines ``target``."""
        seen, frontier = {target}, [target]
        for depth in range(len(by_key)):
            found, following = [], []
            for key in frontier:
                for relation in by_key.get(key, []):
                    for other in relation:
                        if other in seen:
                            continue
                        seen.add(other)
                        if other in hidden:
                            following.append(other)
                        elif self.published[other] and self.values[other] > 0:
                            found.append(other)
            if found or not following:
                return depth, found
            frontier = following
        return 0, []

    def _determined(
        self,
        relations: list[dict[object, int]],
        hidden: set[object],
        among: list[object] | None = None,
        everything: bool = False,
    ) -> list[object]:
        """Small withheld values the published ones determine.

        ``x_j`` is determined by the identities iff the unit vector e_j lies in the row space of the
        identities restricted to the withheld cells, i.e. iff its projection onto that row space has norm 1.
        """
        sensitive = [key for key in (hidden if among is None else among) if everything or self.small(key)]
        if not sensitive or not relations:
            return []
        columns = sorted(hidden, key=str)
        index = {key: i for i, key in enumerate(columns)}
        rows = [r for r in relations if any(key in index for key in r)]
        if not rows:
            return []
        matrix = np.zeros((len(rows), len(columns)))
        for i, relation in enumerate(rows):
            for key, coef in relation.items():
                if key in index:
                    matrix[i, index[key]] = coef
        # an orthonormal basis of the row space: rank-revealing QR of the transpose (cheaper than an SVD)
        q, r, _ = scipy.linalg.qr(matrix.T, mode="economic", pivoting=True)
        diagonal = np.abs(np.diag(r))
        rank = int((diagonal > 1e-9 * max(1.0, diagonal.max(initial=0))).sum())
        projection = (q[:, :rank] ** 2).sum(axis=1)  # |P e_j|^2 for every withheld cell j
        return sorted(
            (key for key in sensitive if projection[index[key]] > 1 - 1e-6),
            key=lambda key: (self.values[key], str(key)),
        )

    def _pinned(self, relations: list[dict[object, int]], hidden: set[object]) -> list[object]:
        """Withheld cells (never 0) of one identity, all on one side, whose total equals their number: each is 1."""
        for relation in relations:
            inside = {key: coef for key, coef in relation.items() if key in hidden}
            if not inside or any(not self.published[key] for key in inside):
                continue
            if (
                len({np.sign(c) for c in inside.values()}) == 1
                and set(map(abs, inside.values())) == {1}
                and sum(abs(c) * self.values[key] for key, c in inside.items()) == len(inside)
            ):
                return [next(iter(inside))]
        return []


def _frame(tables: Mapping[str, pd.DataFrame], name: str) -> pd.DataFrame:
    frame = tables.get(name)
    return frame.reset_index(drop=True) if frame is not None else pd.DataFrame()


def suppress(tables: Mapping[str, pd.DataFrame], min_cell_count: int) -> dict[str, pd.DataFrame]:
    """The analysis's tables (one analysis, every endpoint) with a ``<count>_suppressed`` column beside each count.

    ``tables`` holds the keyed results tables of one analysis (``km_summary``, ``km_landmarks``,
    ``km_curve``, ``logrank``, ``cox``, ``immortal_time``, ``binary_outcome``, ``table_one``, any may be
    missing); the result adds ``km_at_risk``, the plots' numbers at risk, flagged the same way.
    """
    k = int(min_cell_count)
    out = {name: _frame(tables, name) for name in tables}
    summary, curve = out.get("km_summary", pd.DataFrame()), out.get("km_curve", pd.DataFrame())
    at_risk = (
        [
            at_risk_table(
                curve[curve["endpoint"] == endpoint],
                summary.loc[summary["endpoint"] == endpoint, "group"],
                analysis_id=str(summary["analysis_id"].iloc[0]),
                endpoint=endpoint,
            )
            for endpoint in summary["endpoint"].unique()
        ]
        if len(summary) and len(curve)
        else []
    )
    out["km_at_risk"] = (
        pd.concat(at_risk, ignore_index=True)
        if at_risk
        else pd.DataFrame(columns=list(AT_RISK_SCHEMA)).astype(AT_RISK_SCHEMA)
    )
    system = _System(k)
    _build(system, out)
    hidden = system.solve()
    for name, frame in out.items():
        for column in COUNTS.get(name, ()):
            if column in frame.columns:
                frame[flag(column)] = False
    for key in hidden:
        for table, row, column in system.places.get(key, []):
            out[table].loc[row, flag(column)] = True
    for name, frame in out.items():
        for column in COUNTS.get(name, ()):
            if column in frame.columns:
                frame[flag(column)] = frame[flag(column)].astype(bool)
    return out


def _flow(system: _System, flow: pd.DataFrame) -> None:
    """The flow diagram is a subtraction chain: each cohort box = the one before less its exclusion, and the
    last = the last exclusion + the analysed groups (the groups' n are km_summary's cells)."""
    previous, pending = None, {}
    for row, r in flow.iterrows():
        if r["kind"] == "analysed":
            pending[system.cell(("N", r["group"]), r["n"], ("cohort_flow", row, "n"))] = -1
            continue
        key = system.cell(("FLOW", int(r["step"]), r["kind"], r["reason"]), r["n"], ("cohort_flow", row, "n"))
        if r["kind"] == "excluded":
            pending[key] = -1
        else:
            if previous is not None:
                system.relate({previous: 1, **pending, key: -1})
            previous, pending = key, {}
    if previous is not None and pending:
        system.relate({previous: 1, **pending})


def _landmark_of(model: str) -> str | None:
    """The landmark (months, as text) of a model on a landmark frame (``landmark_<L>[_adjusted]``,
    ``iptw_landmark_<L>``), None for any other model."""
    core = model.removeprefix("iptw_").removesuffix("_adjusted")
    return core.removeprefix("landmark_") if core.startswith("landmark_") else None


def _build(system: _System, t: dict[str, pd.DataFrame]) -> None:
    """Every cell and identity of one analysis (the keys name the quantity, so a repeated one is one cell)."""
    cell = system.cell
    groups: list[str] = []
    summary = t.get("km_summary", pd.DataFrame())
    endpoints = list(dict.fromkeys(summary["endpoint"])) if len(summary) else []
    total_events: dict[object, object] = {}
    for row, r in summary.iterrows():
        g, p = r["group"], r["endpoint"]
        groups.append(g) if g not in groups else None
        n = cell(("N", g), r["n"], ("km_summary", row, "n"))
        e = cell(("E", p, g), r["events"], ("km_summary", row, "events"))
        c = cell(("C", p, g), r["censored"], ("km_summary", row, "censored"))
        system.relate({n: 1, e: -1, c: -1})
    _flow(system, t.get("cohort_flow", pd.DataFrame()))
    if not groups:
        return
    total = ("NT",)
    system.values[total], system.published[total] = sum(system.values.get(("N", g), 0) for g in groups), False
    system.relate({total: 1, **{("N", g): -1 for g in groups}})
    for p in endpoints:
        total_events[p] = ("ET", p)
        system.values[("ET", p)] = sum(system.values.get(("E", p, g), 0) for g in groups)
        system.published[("ET", p)] = False
        system.relate({("ET", p): 1, **{("E", p, g): -1 for g in groups}})
    for row, r in t.get("rmst", pd.DataFrame()).iterrows():  # the group's n (the same cell as km_summary's)
        cell(("N", r["group"]), r["n"], ("rmst", row, "n"))
    for row, r in t.get("logrank", pd.DataFrame()).iterrows():
        cell(("N", r["group"]), r["n"], ("logrank", row, "n"))
        cell(("E", r["endpoint"], r["group"]), r["observed"], ("logrank", row, "observed"))
    # along time: events so far (landmarks) and numbers at risk (landmarks and the plots' ticks)
    events_at: dict[tuple, dict[float, object]] = {}
    at_risk_at: dict[tuple, dict[float, object]] = {}
    for row, r in t.get("km_landmarks", pd.DataFrame()).iterrows():
        key = (r["endpoint"], r["group"])
        time = round(float(r["time"]), 9)
        at_risk_at.setdefault(key, {})[time] = cell(
            ("A", *key, time), r["n_at_risk"], ("km_landmarks", row, "n_at_risk")
        )
        events_at.setdefault(key, {})[time] = cell(("D", *key, time), r["n_events"], ("km_landmarks", row, "n_events"))
    for row, r in t.get("km_at_risk", pd.DataFrame()).iterrows():
        key = (r["endpoint"], r["group"])
        time = round(float(r["time"]), 9)
        at_risk_at.setdefault(key, {})[time] = cell(("A", *key, time), r["n_at_risk"], ("km_at_risk", row, "n_at_risk"))
    for (p, g), points in at_risk_at.items():
        previous, before = ("N", g), None
        for time, key in sorted(points.items()):
            if time == 0:
                system.relate({previous: 1, key: -1}, ("left before", p, g, time), structural=True)
            else:
                system.relate({previous: 1, key: -1}, ("left", p, g, before, time))
            previous, before = key, time
    for (p, g), points in events_at.items():
        previous, before = None, None
        for time, key in sorted(points.items()):
            if previous is not None:
                system.relate({key: 1, previous: -1}, ("events between", p, g, before, time))
            previous, before = key, time
            # subjects gone before t without an event (less events exactly at t), and those censored from t on
            at_risk = at_risk_at.get((p, g), {}).get(time)
            system.relate({("N", g): 1, at_risk: -1, key: -1}, ("censored before", p, g, time))
            system.relate({at_risk: 1, ("E", p, g): -1, key: 1}, ("censored from", p, g, time))
        system.relate({("E", p, g): 1, previous: -1}, ("events after", p, g, before))
    # models: their n and events against the groups', what they left out is derived
    for source in ("cox", "immortal_time", "iptw_cox"):
        models = t.get(source, pd.DataFrame())
        for (p, model), rows in models.groupby(["endpoint", "model"], sort=False) if len(models) else []:
            cells = {}
            for row, r in rows.iterrows():
                for column in ("n", "events", "n_excluded_missing", "n_clusters"):
                    cells[column] = cell((source, p, model, column), r[column], (source, row, column))
            adjusted = model == "multivariable" or model.endswith("_adjusted") or source == "iptw_cox"
            base_n, base_e = {total: 1}, {total_events.get(p): 1}
            landmark = _landmark_of(model)
            if landmark is not None:
                time = round(float(landmark), 9)
                known = [g for g in groups if time in at_risk_at.get((p, g), {}) and time in events_at.get((p, g), {})]
                if len(known) == len(groups):
                    base_n = {at_risk_at[(p, g)][time]: 1 for g in groups}
                    base_e = {total_events.get(p): 1, **{events_at[(p, g)][time]: -1 for g in groups}}
                else:
                    system.relate(
                        {**base_n, cells.get("n"): -1, cells.get("n_excluded_missing"): -1}, (source, p, model, "left")
                    )
                    system.relate({**base_e, cells.get("events"): -1}, (source, p, model, "events left"))
                    continue
            system.relate(
                {**base_n, cells.get("n"): -1, cells.get("n_excluded_missing"): -1},
                (source, p, model, "left out"),
                structural=True,
            )
            system.relate(
                {**base_e, cells.get("events"): -1}, (source, p, model, "events left out"), structural=not adjusted
            )
            if adjusted and source != "iptw_cox":
                plain = "univariable" if source == "cox" else model.removesuffix("_adjusted")
                system.relate(
                    {(source, p, plain, "n_clusters"): 1, cells.get("n_clusters"): -1},
                    (source, p, model, "clusters left out"),
                ) if (source, p, plain, "n_clusters") in system.values else None
    # IPTW positivity: per group n + excluded = the group; the extreme-weight counts are cells of their own.  A
    # landmark comparison's groups (exposed / unexposed by L) together are the subjects at risk at L
    landmark_groups: dict[tuple, dict[object, int]] = {}
    for row, r in t.get("iptw_positivity", pd.DataFrame()).iterrows():
        p, g, model = r["endpoint"], r["group"], r["model"]
        counts = {
            c: cell(("iptw", p, model, g, c), r[c], ("iptw_positivity", row, c)) for c in COUNTS["iptw_positivity"]
        }
        landmark = _landmark_of(model)
        if landmark is None:
            system.relate({("N", g): 1, counts["n"]: -1, counts["n_excluded_missing"]: -1}, ("iptw", p, g, "left out"))
            continue
        group = ("iptw group", p, model, g)
        system.relate({group: 1, counts["n"]: -1, counts["n_excluded_missing"]: -1}, ("iptw", p, model, g, "left out"))
        landmark_groups.setdefault((p, model, round(float(landmark), 9)), {})[group] = -1
    for (p, model, time), parts in landmark_groups.items():
        if all(time in at_risk_at.get((p, g), {}) for g in groups):
            system.relate({**{at_risk_at[(p, g)][time]: 1 for g in groups}, **parts}, ("iptw", p, model, "at risk"))
    _competing(system, t, groups, at_risk_at, events_at)
    # binary outcome: n + missing = the group; events = events so far at the same landmark; non-events derived
    for row, r in t.get("binary_outcome", pd.DataFrame()).iterrows():
        if pd.isna(r.get("within_months")):
            continue
        p, g, w = r["endpoint"], r["group"], round(float(r["within_months"]), 9)
        n = cell(("B n", p, w, g), r["n"], ("binary_outcome", row, "n"))
        m = cell(("B missing", p, w, g), r["n_missing"], ("binary_outcome", row, "n_missing"))
        e = cell(("B events", p, w, g), r["events"], ("binary_outcome", row, "events"))
        system.relate({("N", g): 1, n: -1, m: -1})
        system.relate({n: 1, e: -1}, ("B non-events", p, w, g))
        if w in events_at.get((p, g), {}):
            system.relate({e: 1, events_at[(p, g)][w]: -1})
            # missing = censored before w = n - at risk at w - events so far, unless an event falls exactly at w
            system.relate(
                {m: 1, ("N", g): -1, at_risk_at[(p, g)].get(w): 1, events_at[(p, g)][w]: 1},
                ("B missing slack", p, w, g),
                structural=True,
            )
    # Table 1: per variable, levels + missing = the group; (all) = the sum of the groups
    one = t.get("table_one", pd.DataFrame())
    for variable, rows in one.groupby("variable", sort=False) if len(one) else []:
        listed = [g for g in rows["group"].unique() if g != ALL_GROUPS]
        for row, r in rows.iterrows():
            g = r["group"]
            n = cell(("T n", variable, g), r["n"], ("table_one", row, "n"))
            m = cell(("T missing", variable, g), r["n_missing"], ("table_one", row, "n_missing"))
            if r["kind"] == "categorical":
                cell(("T count", variable, r["level"], g), r["count"], ("table_one", row, "count"))
            elif r["kind"] == "units":  # its count is its n: one cell, withheld in both places
                cell(("T n", variable, g), r["count"], ("table_one", row, "count"))
            elif r["kind"] == "unknown":  # its count is the group's n_missing: one cell, withheld in both places
                cell(("T missing", variable, g), r["count"], ("table_one", row, "count"))
            whole = total if g == ALL_GROUPS else ("N", g)
            if whole in system.values and variable != PATIENTS:  # a units row counts patients, not subjects
                system.relate({whole: 1, n: -1, m: -1})
        for column in ("T n", "T missing"):
            if variable != PATIENTS:  # a patient operated in two groups is in both: (all) is not their sum
                system.relate({(column, variable, ALL_GROUPS): 1, **{(column, variable, g): -1 for g in listed}})
        levels = rows.loc[rows["kind"] == "categorical", "level"].unique()
        for g in [*listed, ALL_GROUPS]:
            if len(levels):
                system.relate({("T n", variable, g): 1, **{("T count", variable, lv, g): -1 for lv in levels}})
        for lv in levels:
            system.relate(
                {("T count", variable, lv, ALL_GROUPS): 1, **{("T count", variable, lv, g): -1 for g in listed}}
            )


def _competing(
    system: _System,
    t: dict[str, pd.DataFrame],
    groups: list[str],
    at_risk_at: dict[tuple, dict[float, object]],
    events_at: dict[tuple, dict[float, object]],
) -> None:
    """Competing risks: per cause, its events so far at the landmarks and in the models, tied to the Kaplan-Meier's.

    The landmark rows of ``cumulative_incidence`` publish the numbers at risk (the Kaplan-Meier's, the same
    cells) and the cause-k events so far; over the causes these add up to the Kaplan-Meier's events so far,
    and the cause-k events of a group (never published, an unknown) add up over the causes to its events.
    The curve rows' per-time counts are not published (``published.v_cumulative_incidence_curve`` leaves them out).
    """
    cif = t.get("cumulative_incidence", pd.DataFrame())
    if not len(cif):
        return
    cell = system.cell
    totals: dict[tuple, object] = {}
    for (p, g, k), rows in cif.groupby(["endpoint", "group", "cause"], sort=False):
        total = ("EK", p, g, int(k))
        system.values[total] = int(rows.loc[rows["kind"] == "curve", "n_events"].sum())
        system.published[total] = False
        totals[(p, g, int(k))] = total
        previous, before = None, None
        for row, r in rows[rows["kind"] == "landmark"].sort_values("time").iterrows():
            time = round(float(r["time"]), 9)
            at_risk = cell(("A", p, g, time), r["n_at_risk"], ("cumulative_incidence", row, "n_at_risk"))
            at_risk_at.setdefault((p, g), {}).setdefault(time, at_risk)
            key = cell(("DK", p, g, int(k), time), r["n_events"], ("cumulative_incidence", row, "n_events"))
            if previous is not None:
                system.relate({key: 1, previous: -1}, ("cause events between", p, g, int(k), before, time))
            previous, before = key, time
        if previous is not None:
            system.relate({total: 1, previous: -1}, ("cause events after", p, g, int(k), before))
    for p, g in {(p, g) for p, g, _ in totals}:
        causes = [key for (pp, gg, _), key in totals.items() if (pp, gg) == (p, g)]
        system.relate({("E", p, g): 1, **{key: -1 for key in causes}})
        landmarks = cif[(cif["endpoint"] == p) & (cif["group"] == g) & (cif["kind"] == "landmark")]
        for time in {round(float(x), 9) for x in landmarks["time"]}:
            so_far = events_at.get((p, g), {}).get(time)
            per_cause = [("DK", p, g, k, time) for (pp, gg, k) in totals if (pp, gg) == (p, g)]
            if so_far is not None and all(key in system.values for key in per_cause):
                system.relate({so_far: 1, **{key: -1 for key in per_cause}})
    models = t.get("competing_cox", pd.DataFrame())
    total_n = ("NT",)
    for (p, k, model), rows in models.groupby(["endpoint", "cause", "model"], sort=False) if len(models) else []:
        cells = {
            column: cell(
                ("competing_cox", p, int(k), model, column), rows[column].iloc[0], ("competing_cox", row, column)
            )
            for column in ("n", "events", "n_excluded_missing", "n_clusters")
            for row in rows.index
        }
        adjusted = model.endswith("_multivariable")
        system.relate(
            {total_n: 1, cells.get("n"): -1, cells.get("n_excluded_missing"): -1},
            ("competing_cox", p, int(k), model, "left out"),
            structural=True,
        )
        cause_total = {totals[(p, g, int(k))]: 1 for g in groups if (p, g, int(k)) in totals}
        system.relate(
            {**cause_total, cells.get("events"): -1},
            ("competing_cox", p, int(k), model, "events left out"),
            structural=not adjusted,
        )
