"""What an analysis tells Dagster: its key numbers on the results tables they live in, withheld counts left out,
plots by path, no images."""

import dataclasses

from pipelines.analyses import AnalysisOutput
from pipelines.defs.analyses import key_numbers
from pipelines.stats import analyse_endpoint
from tests.stats.test_stats_endpoint_plots import registry_like


def test_key_numbers_are_charted_on_their_tables_withheld_counts_left_out_plots_linked(tmp_path):
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
    # Hand-flagged as small-count suppression would: group B's events withheld, its subjects not.
    flagged = results.km_summary.assign(n_suppressed=False, events_suppressed=results.km_summary["group"] == "B")
    results = dataclasses.replace(results, km_summary=flagged)
    km, forest = tmp_path / "mutation_PFS_km.png", tmp_path / "mutation_PFS_forest.png"
    for plot in (km, forest):
        plot.write_bytes(b"\x89PNG")
    love, weighted = tmp_path / "mutation_PFS_love_landmark_12.png", tmp_path / "mutation_PFS_iptw_km.png"
    plots = {"km_PFS": km, "forest_PFS": forest, "love_PFS_landmark_12": love, "iptw_km_PFS": weighted}
    numbers = key_numbers("mutation", AnalysisOutput({"PFS": results}, plots, {}))

    hr = results.cox.query("model == 'univariable' and level == 'B'").iloc[0]
    cox = numbers["cox"]
    assert (
        cox["mutation PFS HR B vs A"].value == hr["hr"] and cox["mutation PFS HR B vs A lower"].value == hr["hr_lower"]
    )
    assert (
        cox["mutation PFS HR B vs A upper"].value == hr["hr_upper"] and cox["mutation PFS HR B vs A p"].value == hr["p"]
    )
    assert numbers["logrank"]["mutation PFS log-rank p"].value == results.logrank["p"].iloc[0]
    summary, by_group = numbers["km_summary"], flagged.set_index("group")
    assert summary["mutation PFS A: events"].value == by_group.loc["A", "events"]
    assert summary["mutation PFS B: subjects"].value == by_group.loc["B", "n"]
    assert "mutation PFS B: events" not in summary  # withheld, as in the published views
    for group in ("A", "B"):
        assert ("mutation PFS " + group + ": median months" in summary) == bool(by_group.loc[group, "median_reached"])
    assert numbers["km_curve"] == {"mutation km_PFS plot": numbers["km_curve"]["mutation km_PFS plot"]}
    assert numbers["km_curve"]["mutation km_PFS plot"].value == str(km)
    assert numbers["cox"]["mutation forest_PFS plot"].value == str(forest)
    assert numbers["iptw_balance"]["mutation love_PFS_landmark_12 plot"].value == str(love)  # a landmark frame's
    assert numbers["iptw_km_curve"]["mutation iptw_km_PFS plot"].value == str(weighted)  # not km_curve's
    charted = [v for table in ("cox", "logrank", "km_summary") for k, v in numbers[table].items() if "plot" not in k]
    assert charted and all(type(v.value) in (int, float) for v in charted)  # numbers Dagster plots, not text
