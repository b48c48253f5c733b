"""What an analysis materialization tells Dagster: charts of its key numbers, plots by path, no counts, no images."""

from pipelines.analyses import AnalysisOutput
from pipelines.defs.analyses import _metadata
from pipelines.stats import analyse_endpoint
from tests.stats.test_stats_endpoint_plots import registry_like


def test_key_numbers_are_charted_and_plots_are_linked_not_embedded(tmp_path):
    results = analyse_endpoint(
        registry_like(("A", "B")),
        reference_group="A",
        groups=["A", "B"],
        covariates=[],
        landmarks=(12,),
        exposure=None,
        exposure_landmarks=(),
        cluster=None,
    )
    plot = tmp_path / "km.png"
    plot.write_bytes(b"\x89PNG")
    metadata = _metadata(AnalysisOutput({"PFS": results}, {"km_PFS": plot}, {"km_summary": 2}))
    hr = results.cox.query("model == 'univariable' and level == 'B'").iloc[0]
    assert metadata["PFS HR B vs A"].value == hr["hr"] and metadata["PFS HR B vs A lower"].value == hr["hr_lower"]
    assert metadata["PFS log-rank p"].value == results.logrank["p"].iloc[0]
    medians = results.km_summary.set_index("group")
    for group in ("A", "B"):
        key = f"PFS median months: {group}"
        assert (key in metadata) == bool(medians.loc[group, "median_reached"])
    assert metadata["km_PFS_file"].value == str(plot) and "km_PFS" not in metadata
    assert not any("base64" in str(value.value) for value in metadata.values())
    assert not any(" n" in key or "events" in key for key in metadata)  # counts stay in the suppressed views
