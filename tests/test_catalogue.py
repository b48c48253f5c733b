"""The catalogue file: every entry validated, mistakes named by file and analysis."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pipelines.catalogue import CatalogueError, load_catalogue

ENTRY = {"id": "demo", "title": "Demo", "seed": "000", "endpoints": ["PFS"], "groups": ["a", "b"], "reference": "a"}


def _write(tmp_path: Path, entries: list[dict], defaults: dict | None = None) -> Path:
    path = tmp_path / "catalogue.yaml"
    path.write_text(yaml.safe_dump({"analyses": entries, **({"defaults": defaults} if defaults else {})}))
    for entry in entries:
        (tmp_path / f"{entry.get('id', 'x')}.sql").write_text("SELECT 1;")
    return path


def test_the_shipped_catalogue_has_every_analysis_of_the_brief():
    analyses = {a.id: a for a in load_catalogue()}
    assert set(analyses) == {
        "surgery_after_imatinib",
        "surgery_on_tki",
        "status_at_surgery",
        "progression_pattern",
        "postop_tki",
        "imatinib_interruption",
        "mutation",
        "mutation_exon9_dose",
        "os_by_sample_type",
    }
    assert analyses["surgery_after_imatinib"].exposure == "surgery_months"
    assert analyses["surgery_after_imatinib"].exposure_landmarks == (6.0, 12.0, 24.0)
    surgery = analyses["surgery_after_imatinib"]
    assert surgery.primary == "time_varying_adjusted"
    assert "time_varying_split_adjusted" in surgery.models("PFS")
    assert "time_varying_progression_adjusted" in surgery.models("OS")
    assert "time_varying_progression" not in surgery.models("PFS")
    assert analyses["postop_tki"].binary_outcome.label == "RFS event within 12 months"
    assert {a.cluster for a in analyses.values() if a.cluster} == {"patient_id"}
    dated = [a for a in analyses.values() if a.id != "os_by_sample_type"]  # a cBioPortal study has no birth year
    assert all("age" in a.characteristics for a in dated)  # from the catalogue's defaults
    assert analyses["os_by_sample_type"].characteristics == ("sex", "specimen_type")
    assert {a.id for a in analyses.values() if a.adjust} >= {"surgery_on_tki", "postop_tki"}
    assert analyses["surgery_on_tki"].adjust.truncate == (1.0, 99.0)


def test_defaults_apply_unless_an_entry_sets_the_key(tmp_path):
    path = _write(
        tmp_path, [ENTRY, {**ENTRY, "id": "other", "characteristics": ["sex"]}], defaults={"characteristics": ["age"]}
    )
    assert [a.characteristics for a in load_catalogue(path)] == [("age",), ("sex",)]
    assert load_catalogue(path)[0].columns == ("age",)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"covariate": ["sex"]}, "unknown key(s) covariate"),
        ({"reference": "c"}, "reference 'c' is not one of its groups"),
        ({"endpoints": ["DFS"]}, "endpoints must be among PFS, RFS, OS"),
        ({"landmarks": [6, -1]}, "'landmarks' must be a non-empty list of positive numbers"),
        ({"groups": ["a", "a"]}, "'groups' lists a name twice"),
        ({"exposure": "surgery months"}, "'exposure' must be a column name"),
        (
            {"binary_outcome": {"endpoint": "OS", "within_months": 12}},
            "binary_outcome endpoint 'OS' is not one of its endpoints",
        ),
        ({"binary_outcome": {"endpoint": "PFS"}}, "exactly the keys endpoint and within_months"),
        ({"id": "bad-id"}, "id must be a SQL identifier"),
        ({"adjust": {"method": "matching", "covariates": ["sex"]}}, "adjust method 'matching' is not known"),
        ({"adjust": {"method": "iptw"}}, "'adjust' must have the keys method and covariates"),
        ({"adjust": {"method": "iptw", "covariates": []}}, "iptw needs at least one covariate"),
        ({"adjust": {"method": "iptw", "covariates": ["sex"], "truncate": [99, 1]}}, "two percentiles"),
        ({"groups": ["a", "b", "c"], "adjust": {"method": "iptw", "covariates": ["sex"]}}, "exactly two groups"),
        ({"exposure_split": {"a": "x", "b": "y"}}, "'exposure_split' needs 'exposure'"),
        ({"exposure": "e", "exposure_split": {"a": "x"}}, "must map at least two exposure kinds"),
        ({"exposure": "e", "exposure_split": {"unexposed": "x", "b": "y"}}, "kind 'unexposed' must be a name"),
        ({"exposure": "e", "exposure_split": {"a": "x y", "b": "y"}}, "'exposure_split.a' must be a column name"),
        ({"exposure": "e", "time_varying_covariates": {"OS": ["p"]}}, "must map some of its endpoints"),
        ({"time_varying_covariates": {"PFS": ["p"]}}, "'time_varying_covariates' needs 'exposure'"),
        ({"primary": "time_varying"}, "primary model 'time_varying' is not reported for PFS"),
    ],
)
def test_a_bad_entry_is_named_with_its_file_and_analysis(tmp_path, change, message):
    path = _write(tmp_path, [{**ENTRY, **change}])
    with pytest.raises(CatalogueError, match="catalogue.yaml: analysis '") as raised:
        load_catalogue(path)
    assert message in str(raised.value)


def test_missing_sql_file_missing_keys_and_duplicates(tmp_path):
    path = _write(tmp_path, [ENTRY])
    (tmp_path / "demo.sql").unlink()
    with pytest.raises(CatalogueError, match=r"analysis 'demo': no SQL file sql/analysis/demo.sql"):
        load_catalogue(path)
    path = _write(tmp_path, [{k: v for k, v in ENTRY.items() if k != "groups"}])
    with pytest.raises(CatalogueError, match="analysis 'demo': missing key"):
        load_catalogue(path)
    path = _write(tmp_path, [ENTRY, ENTRY])
    with pytest.raises(CatalogueError, match="duplicate analysis id"):
        load_catalogue(path)
    path = _write(tmp_path, [ENTRY], defaults={"groups": ["x"]})
    with pytest.raises(CatalogueError, match="'defaults' may only set"):
        load_catalogue(path)
