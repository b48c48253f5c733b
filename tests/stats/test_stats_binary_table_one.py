"""Binary outcomes and Table 1."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2_contingency, kruskal, mannwhitneyu

from pipelines.stats import BINARY_COLUMNS, TABLE_ONE_COLUMNS, binary_outcome, contingency_test, table_one
from pipelines.stats.table_one import _categorical_smd, smd_by_group


def rutkowski() -> pd.DataFrame:
    """Rutkowski 2006, Group I: recurrence in 4/5 who stopped imatinib vs 1/19 who continued."""
    return pd.DataFrame({"group": ["stopped"] * 5 + ["continued"] * 19, "recurrence": [1, 1, 1, 1, 0] + [1] + [0] * 18})


def test_fisher_reproduces_the_derived_published_p() -> None:
    table = binary_outcome(rutkowski(), "recurrence", groups=["stopped", "continued"])
    assert list(table.columns) == BINARY_COLUMNS
    stopped, continued = table.iloc[0], table.iloc[1]
    assert (stopped["n"], stopped["events"], continued["n"], continued["events"]) == (5, 4, 19, 1)
    assert stopped["proportion"] == pytest.approx(0.8)
    assert (stopped["lower"], stopped["upper"]) == pytest.approx((0.2836, 0.9949), abs=5e-5)  # Clopper-Pearson
    assert stopped["test"] == "fisher_exact"
    assert stopped["p"] == pytest.approx(0.00226, abs=5e-6)
    assert stopped["statistic"] == pytest.approx(72.0)  # odds ratio (4*18)/(1*1)


def test_binary_missing_outcomes_and_untestable() -> None:
    frame = rutkowski().astype({"recurrence": float})
    frame.loc[0, "recurrence"] = np.nan
    table = binary_outcome(frame, "recurrence", groups=["stopped", "continued", "never"]).set_index("group")
    assert (table.loc["stopped", "n"], table.loc["stopped", "n_missing"]) == (4, 1)
    assert table.loc["never", "n"] == 0 and np.isnan(table.loc["never", "proportion"])
    only_one = binary_outcome(rutkowski().query("group == 'stopped'"), "recurrence")
    assert only_one["status"].iloc[0].startswith("not_testable")


def test_contingency_test_choice() -> None:
    large = np.array([[30, 20, 25], [25, 30, 20]])
    name, statistic, p = contingency_test(large)
    assert name == "chi_square" and p == pytest.approx(chi2_contingency(large, correction=False).pvalue)
    name, _, p = contingency_test(np.array([[3, 0, 1], [0, 4, 2]]))
    assert name == "fisher_monte_carlo" and 0 < p < 1
    assert contingency_test(np.array([[3, 0, 1], [0, 4, 2]]))[2] == p  # seeded: reproducible
    assert contingency_test(np.array([[5, 0], [3, 0]]))[0] == "none"


def baseline() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    n = 90
    return pd.DataFrame(
        {
            "group": np.resize(np.array(["imatinib", "sunitinib", "regorafenib"]), n),
            "age": np.r_[rng.normal(58, 10, n - 3).round(), [np.nan] * 3],
            "sex": rng.choice(["male", "female"], n),
            "kit_exon": rng.choice([11, 9, 0], n),
        }
    )


def test_table_one_continuous_rows() -> None:
    frame = baseline()
    table = table_one(frame, ["age"], groups=["imatinib", "sunitinib", "regorafenib"])
    assert list(table.columns) == TABLE_ONE_COLUMNS
    assert table["kind"].tolist() == ["continuous"] * 4 + ["unknown"] * 4  # a missing age: its unknown rows follow
    table = table[table["kind"] == "continuous"]
    assert table["group"].tolist() == ["imatinib", "sunitinib", "regorafenib", "(all)"]
    imatinib = table.iloc[0]
    ages = frame.loc[frame["group"] == "imatinib", "age"]
    assert imatinib["median"] == ages.median() and (imatinib["min"], imatinib["max"]) == (ages.min(), ages.max())
    assert (imatinib["q1"], imatinib["q3"]) == (ages.quantile(0.25), ages.quantile(0.75))
    assert table["n_missing"].tolist() == [1, 1, 1, 3]  # the last three rows, one per group
    samples = [frame.loc[frame["group"] == g, "age"].dropna() for g in ("imatinib", "sunitinib", "regorafenib")]
    assert imatinib["test"] == "kruskal_wallis" and imatinib["p"] == pytest.approx(kruskal(*samples).pvalue)
    two = table_one(frame, ["age"], groups=["imatinib", "sunitinib"]).iloc[0]
    assert two["test"] == "mann_whitney"
    assert two["p"] == pytest.approx(mannwhitneyu(samples[0], samples[1], alternative="two-sided").pvalue)


def test_table_one_categorical_rows() -> None:
    frame = baseline()
    table = table_one(frame, ["sex", "kit_exon"], categorical=["kit_exon"], groups=["imatinib", "sunitinib"])
    sex = table[table["variable"] == "sex"].set_index(["group", "level"])
    counts = frame[frame["group"] == "imatinib"]["sex"].value_counts()
    assert sex.loc[("imatinib", "male"), "count"] == counts["male"]
    assert sex.loc[("imatinib", "male"), "percent"] == pytest.approx(100 * counts["male"] / 30)
    assert sex["test"].iloc[0] == "fisher_exact"  # 2x2
    exon = table[table["variable"] == "kit_exon"]
    assert exon["kind"].iloc[0] == "categorical" and sorted(exon["level"].unique()) == ["0", "11", "9"]
    assert exon["test"].iloc[0] in {"chi_square", "fisher_monte_carlo"}


def test_table_one_categorical_counts_missing_values_and_an_empty_group() -> None:
    frame = pd.DataFrame(
        {
            "group": ["a", "a", "a", "b", "b"],
            "sex": ["female", None, "male", "male", None],
            "rupture": [True, False, None, True, True],
        }
    )
    table = table_one(frame, ["sex", "rupture"], groups=["a", "b", "c"]).set_index(["variable", "group", "level"])
    cells = ["n", "n_missing", "count"]
    assert table.loc[("sex", "a", "male"), cells].tolist() == [2, 1, 1]
    assert table.loc[("sex", "b", "female"), cells].tolist() == [1, 1, 0]
    assert table.loc[("sex", "c", "male"), cells].tolist() == [0, 0, 0] and np.isnan(
        table.loc[("sex", "c", "male"), "percent"]
    )
    assert table.loc[("sex", "(all)", "male"), cells].tolist() == [3, 2, 2]
    assert table.loc[("rupture", "a", "True"), cells].tolist() == [2, 1, 1]
    assert table.loc[("rupture", "(all)", "True"), ["n", "n_missing", "count", "percent"]].tolist() == [4, 1, 3, 75.0]


def test_table_one_shows_the_unknowns_of_each_variable_per_group() -> None:
    """An unknown birth year (age) or mutation class is counted on its own row, never dropped silently."""
    frame = pd.DataFrame(
        {
            "group": ["a", "a", "a", "a", "b", "b"],
            "age": [61.0, np.nan, 70.0, np.nan, 55.0, 58.0],
            "mutation_class": ["kit_exon11", "unknown", None, "kit_exon11", "not_tested", "kit_exon11"],
            "sex": ["male", "female", "male", "female", "male", "female"],
        }
    )
    table = table_one(frame, ["age", "mutation_class", "sex"], groups=["a", "b"])
    unknown = table[table["kind"] == "unknown"].set_index(["variable", "group"])
    cells = ["level", "n", "n_missing", "count", "percent"]
    assert unknown.loc[("age", "a"), cells].tolist() == ["(unknown)", 2, 2, 2, 50.0]
    assert unknown.loc[("age", "b"), cells].tolist() == ["(unknown)", 2, 0, 0, 0.0]
    assert unknown.loc[("age", "(all)"), cells].tolist() == ["(unknown)", 4, 2, 2, pytest.approx(100 * 2 / 6)]
    # a site's explicit 'unknown' is a level like any other; an empty value is the unknown row
    levels = table[(table["variable"] == "mutation_class") & (table["group"] == "(all)")].set_index("level")
    assert levels.loc["unknown", "count"] == 1 and levels.loc["(unknown)", "count"] == 1
    assert levels.loc["unknown", "kind"] == "categorical" and levels.loc["(unknown)", "kind"] == "unknown"
    assert "sex" not in unknown.index.get_level_values("variable")  # nothing unknown: no row


def test_table_one_smd_is_tableones_formula_by_hand() -> None:
    """Continuous: (mean_g - mean_ref) / sqrt((sd_g^2 + sd_ref^2) / 2); binary: |p_g - p_ref| / sqrt of the mean variance."""
    frame = pd.DataFrame(
        {
            "group": ["ref"] * 4 + ["b"] * 5 + ["c"] * 3,
            "age": [50.0, 60.0, 70.0, np.nan, 40.0, 45.0, 50.0, 55.0, 60.0, 80.0, 81.0, 82.0],
            "sex": ["m", "m", "f", "f", "m", "f", "f", "f", "f", "m", "m", "m"],
        }
    )
    table = table_one(frame, ["age", "sex"], groups=["ref", "b", "c"])
    rows = table.drop_duplicates(["variable", "group"]).set_index(["variable", "group"])
    ref, b, c = (frame.loc[frame["group"] == g, "age"].dropna() for g in ("ref", "b", "c"))
    assert rows.loc[("age", "b"), "smd"] == pytest.approx((b.mean() - ref.mean()) / np.sqrt((b.var() + ref.var()) / 2))
    assert rows.loc[("age", "c"), "smd"] == pytest.approx((c.mean() - ref.mean()) / np.sqrt((c.var() + ref.var()) / 2))
    p_ref, p_b = 0.5, 0.2  # share of men
    assert rows.loc[("sex", "b"), "smd"] == pytest.approx(
        abs(p_b - p_ref) / np.sqrt((p_b * (1 - p_b) + p_ref * (1 - p_ref)) / 2)
    )
    assert np.isnan(rows.loc[("age", "ref"), "smd"]) and np.isnan(rows.loc[("age", "(all)"), "smd"])
    pairs = [(b, ref), (c, ref), (c, b)]
    largest = max(abs(x.mean() - y.mean()) / np.sqrt((x.var() + y.var()) / 2) for x, y in pairs)
    assert rows.loc[("age", "ref"), "smd_max"] == pytest.approx(largest)


def test_smd_in_closed_form_equals_tableone() -> None:
    """The closed forms give tableone's numbers: three categorical levels (one absent from two groups, so that pair's
    covariance is singular and its SMD NaN), a continuous column with gaps, and a group with one known value (SD 0)."""
    from tableone import TableOne

    frame = pd.DataFrame(
        {
            "group": ["ref"] * 5 + ["b"] * 4 + ["c"] * 3 + ["d"] * 2,
            "size": [12.0, 30.0, np.nan, 45.5, 8.0, 60.0, 22.0, 35.0, np.nan, 5.0, 90.0, 41.0, 70.0, np.nan],
            "site": ["stomach", "small bowel", "stomach", "rectum", "stomach"]
            + ["small bowel", "small bowel", "rectum", "stomach"]
            + ["stomach", "stomach", "small bowel"]
            + ["stomach", "stomach"],
        }
    )
    order = ["ref", "b", "c", "d"]
    ours = smd_by_group(frame, ["size", "site"], ["site"], order)
    for variable, categorical in (("size", []), ("site", ["site"])):
        known = frame[frame[variable].notna()]
        reference = TableOne(known, columns=[variable], categorical=categorical, groupby="group", smd=True).smd_table
        row = reference.loc[variable]
        against, largest = ours[variable]
        for group, value in against.items():
            forward, backward = f"SMD (ref,{group})", f"SMD ({group},ref)"
            theirs = row[forward] if forward in row.index else (row[backward] if categorical else -row[backward])
            assert value == pytest.approx(float(theirs), rel=1e-12, nan_ok=True), (variable, group)
        assert largest == pytest.approx(float(np.nanmax(np.abs(row.to_numpy(float)))), rel=1e-12)
    assert ours["size"][0]["d"] == pytest.approx((70.0 - 23.875) / np.sqrt(frame.loc[:4, "size"].var() / 2))
    # c and d have no rectum between them: their covariance is singular, the pair's SMD NaN (left out of the largest)
    counts = np.array([[0.0, 1.0, 2.0], [0.0, 0.0, 2.0]])  # c, d over rectum, small bowel, stomach
    assert np.isnan(_categorical_smd(counts, 0, 1)) and not np.isnan(ours["site"][1])


def test_monte_carlo_p_at_its_floor_is_shown_as_below_it() -> None:
    """A strongly associated 3x3 table [[6, 0, 0], [0, 5, 1], [0, 0, 4]] (expected counts below 5): no resample is
    as extreme, so scipy's Monte Carlo p is 1 / (resamples + 1)."""
    frame = pd.DataFrame({"group": np.repeat(["a", "b", "c"], [6, 6, 4]), "site": [*"xxxxxx", *"yyyyyz", *"zzzz"]})
    row = table_one(frame, ["site"], groups=["a", "b", "c"]).iloc[0]
    assert row["test"] == "fisher_monte_carlo"
    assert row["p_floor"] == pytest.approx(1 / 20_001) and row["p"] == pytest.approx(row["p_floor"])
    assert row["p_display"] == "< 5e-05"
    exact = table_one(frame.iloc[[0, 1, 6, 7]], ["site"], groups=["a", "b"]).iloc[0]  # 2x2: Fisher's exact test
    assert np.isnan(exact["p_floor"]) and exact["p_display"] == f"{exact['p']:.3g}"


def test_binary_outcome_monte_carlo_p_at_its_floor_reads_below_it() -> None:
    """Three groups, every event in the first (10/10, 0/8, 0/8; expected counts below 5): Fisher-Freeman-Halton by
    Monte Carlo, no resample as extreme (the observed table has probability 1 / C(26, 10)), so p is at its floor."""
    frame = pd.DataFrame({"group": np.repeat(["a", "b", "c"], [10, 8, 8]), "outcome": [1] * 10 + [0] * 16})
    table = binary_outcome(frame, "outcome", groups=["a", "b", "c"])
    assert list(table.columns) == BINARY_COLUMNS
    assert set(table["test"]) == {"fisher_monte_carlo"}
    assert table["p"].to_numpy() == pytest.approx(1 / 20_001) and set(table["p_display"]) == {"< 5e-05"}
    two = binary_outcome(rutkowski(), "recurrence", groups=["stopped", "continued"]).iloc[0]
    assert np.isnan(two["p_floor"]) and two["p_display"] == "0.00226"


def test_table_one_of_operations_counts_operations_and_patients() -> None:
    """Operations, not patients, are the subjects: patient P1 has three (two on imatinib, one on sunitinib), P2 two on
    sunitinib, P3 one on imatinib.  Characteristics count operations; the units rows count both."""
    frame = pd.DataFrame(
        {
            "group": ["imatinib", "imatinib", "sunitinib", "sunitinib", "sunitinib", "imatinib"],
            "patient_id": ["P1", "P1", "P1", "P2", "P2", "P3"],
            "sex": ["male", "male", "male", "female", "female", "female"],
        }
    )
    table = table_one(frame, ["sex"], groups=["imatinib", "sunitinib"], cluster="patient_id")
    units = table[table["kind"] == "units"].set_index(["variable", "group"])["count"].to_dict()
    assert units == {
        ("operations", "imatinib"): 3,
        ("operations", "sunitinib"): 3,
        ("operations", "(all)"): 6,
        ("patients", "imatinib"): 2,
        ("patients", "sunitinib"): 2,
        ("patients", "(all)"): 3,  # P1 is in both groups: not 2 + 2
    }
    assert list(table["variable"].unique()) == ["operations", "patients", "sex"]
    sex = table[table["variable"] == "sex"].set_index(["level", "group"])["count"]
    assert (sex[("male", "imatinib")], sex[("male", "sunitinib")], sex[("male", "(all)")]) == (2, 1, 3)
    assert not len(table_one(frame, ["sex"], groups=["imatinib", "sunitinib"]).query("kind == 'units'"))


def test_table_one_of_samples_names_its_units_samples() -> None:
    """A sample-level frame (a primary and a metastasis sample of one patient) counts samples, not operations."""
    frame = pd.DataFrame(
        {"group": ["primary", "metastasis", "primary"], "patient_id": ["P1", "P1", "P2"], "sex": ["male"] * 3}
    )
    table = table_one(frame, ["sex"], groups=["primary", "metastasis"], cluster="patient_id", unit="samples")
    units = table[table["kind"] == "units"].set_index(["variable", "group"])["count"].to_dict()
    assert units[("samples", "primary")] == 2 and units[("patients", "(all)")] == 2
    assert "operations" not in set(table["variable"])
