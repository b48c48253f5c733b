"""The label catalogue has words for every code a reader could meet, and composes model names as documented."""

from __future__ import annotations

import pytest

from pipelines import labels
from pipelines.catalogue import load_catalogue
from pipelines.stats.competing import CAUSE_LABELS
from schemas import vocabularies

VOCABULARY_CODES = sorted({code for value in vars(vocabularies).values() if isinstance(value, tuple) for code in value})


def test_every_vocabulary_code_has_words() -> None:
    assert [c for c in VOCABULARY_CODES if not labels.known("vocabulary", c)] == []


@pytest.mark.parametrize("analysis", load_catalogue(), ids=lambda a: a.id)
def test_every_catalogue_code_has_words(analysis) -> None:
    assert [g for g in analysis.groups if not labels.known("groups", f"{analysis.id}/{g}")] == []
    assert [c for c in analysis.columns if not labels.known("variables", c)] == []
    assert [e for e in analysis.endpoints if not labels.known("endpoints", e)] == []
    for endpoint in analysis.endpoints:
        for model in analysis.models(endpoint):
            assert "_" not in labels.model(model), model  # composed from the catalogue's words, never the code


def test_every_cause_has_words() -> None:
    causes = [c for by_code in CAUSE_LABELS.values() for c in by_code.values()]
    assert [c for c in causes if not labels.known("causes", c)] == []


def test_models_compose_landmark_iptw_and_adjustment() -> None:
    assert labels.model("landmark_12_adjusted") == "landmark at 12 months, covariate-adjusted"
    assert labels.model("iptw_landmark_6") == "IPTW-adjusted, landmark at 6 months"
    assert labels.model("naive") == "naive: immortal-time biased"
    assert labels.model("some_new_model") == "some new model"  # an unknown code still reads without underscores


def test_groups_are_per_analysis_and_terms_name_variable_level_and_reference() -> None:
    assert labels.AnalysisLabels("postop_tki").group("continued") == "TKI continued after surgery"
    assert labels.AnalysisLabels("imatinib_interruption").group("continued") == "Imatinib continued"
    status = labels.AnalysisLabels("status_at_surgery")
    assert status.term("group", "focal_progression", "responsive") == "Focal progression vs Responsive disease"
    assert (
        status.term("disease_status", "stable", "responsive")
        == "Disease status at surgery: stable disease vs responsive disease"
    )
    assert status.term("log2_tumour_count", None) == "Number of tumours (log2, per doubling) (per unit)"
    assert status.term_text("resection_r0=True") == "R0 resection: yes"
    assert labels.survival_axis("RFS") == "Recurrence-free probability"
    assert labels.endpoint("OS") == "Overall survival"


def test_a_status_reads_in_words_with_its_group_named() -> None:
    words = labels.AnalysisLabels("surgery_after_imatinib")
    assert words.status("ok") == "estimated"
    assert (
        words.status("not_estimable: group 'exposed' has no subjects")
        == "not estimable: group 'Surgery on imatinib' has no subjects"
    )
    assert words.status("not_testable: fewer than 2 events") == "not testable: fewer than 2 events"
