"""Codes in words, from the one label catalogue (``sql/analysis/labels.yaml``), for the report and the plots.

A reader never meets ``focal_progression`` or ``imatinib_alone``: every group, endpoint, variable, level,
model and cause goes through here.  A code the catalogue does not know reads with its underscores as spaces
(a test checks that none of catalogue.yaml's codes or the contract's vocabularies needs that fallback).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from pipelines.sql_models import SQL_DIR

LABELS_PATH = SQL_DIR / "analysis" / "labels.yaml"
_LANDMARK = re.compile(r"^(?P<base>iptw_)?landmark_(?P<months>\d+(?:\.\d+)?)$")


@functools.cache
def _catalogue(path: Path = LABELS_PATH) -> dict[str, dict]:
    with path.open(encoding="utf-8") as handle:
        raw = yaml.safe_load(handle)
    return {key: {str(k): v for k, v in (raw.get(key) or {}).items()} for key in raw}


def known(kind: str, code: str) -> bool:
    """Whether the catalogue has words for ``code`` under ``kind`` (groups: ``analysis_id/code``)."""
    if kind == "groups":
        analysis_id, _, group = code.partition("/")
        return group in _catalogue()["groups"].get(analysis_id, {})
    return code in _catalogue()[kind]


def _plain(code: object) -> str:
    return str(code).replace("_", " ")


def endpoint(code: str) -> str:
    """``PFS`` -> ``Progression-free survival``."""
    return _catalogue()["endpoints"].get(code, {}).get("name", code)


def survival_axis(code: str) -> str:
    """The y axis of an endpoint's Kaplan-Meier plot: ``Progression-free probability`` for PFS."""
    return _catalogue()["endpoints"].get(code, {}).get("axis", "Survival probability")


def variable(code: str) -> str:
    return _catalogue()["variables"].get(code, _plain(code))


def level(code: object) -> str:
    """A variable's level: a boolean, a shared level or a vocabulary code, in words."""
    text = str(code)
    catalogue = _catalogue()
    return catalogue["levels"].get(text) or catalogue["vocabulary"].get(text) or _plain(text)


def cause(code: str) -> str:
    return _catalogue()["causes"].get(code, _plain(code))


def test(code: str) -> str:
    """A Table 1 or binary-outcome test name (``kruskal_wallis``) in words."""
    return _catalogue()["tests"].get(code, _plain(code))


def table(code: str) -> str:
    """A contract table (``tki_episodes``) in words."""
    return _catalogue()["tables"].get(code, _plain(code))


def flow(code: str) -> str:
    """A cohort flow step (``primary_resistance``) in words."""
    return _catalogue()["flow"].get(code, _plain(code))


def model(name: str) -> str:
    """A Cox model name in words: ``landmark_12_adjusted`` -> ``landmark at 12 months, covariate-adjusted``."""
    models = _catalogue()["models"]
    base, adjusted = (name.removesuffix("_adjusted"), True) if name.endswith("_adjusted") else (name, False)
    match = _LANDMARK.match(base)
    if match:
        words = models["landmark"].format(months=match["months"])
        words = f"{models['iptw']}, {words}" if match["base"] else words
    else:
        words = models.get(base, _plain(base))
    return f"{words}, {models['adjusted']}" if adjusted else words


@dataclass(frozen=True)
class AnalysisLabels:
    """The labels of one analysis: its groups have words of their own (``continued`` differs between analyses)."""

    analysis_id: str

    def group(self, code: object) -> str:
        text = str(code)
        return _catalogue()["groups"].get(self.analysis_id, {}).get(text) or level(text)

    def term(self, variable_code: str, level_code: object, reference: object = None) -> str:
        """A Cox term: ``Disease status at surgery: focal progression vs responsive disease``; a group term names groups."""
        if pd.isna(level_code):
            return f"{variable(variable_code)} (per unit)"
        words = self.group if variable_code in {"group", "exposure"} else level
        against = "" if pd.isna(reference) else f" vs {words(reference)}"
        name = "" if variable_code == "group" else f"{variable(variable_code)}: "
        return f"{name}{words(level_code)}{against}"

    def status(self, status: str) -> str:
        """A results row's status in words: ``estimated``, or the reason it is not, its group codes named."""
        if status == "ok":
            return "estimated"
        text = status.replace("not_estimable", "not estimable").replace("not_testable", "not testable")
        return re.sub(r"group '([^']+)'", lambda m: f"group '{self.group(m.group(1))}'", text)

    def term_text(self, term: str) -> str:
        """A term as ``results`` spells it (``sex=male``, ``log2_tumour_count``) in words; a continuous one by its name."""
        name, _, value = term.partition("=")
        return self.term(name, value) if value else variable(name)


PLAIN = AnalysisLabels("")  # labels outside any analysis: groups read as vocabulary codes or their words
