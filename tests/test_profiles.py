import pytest

from pipelines.ingest.profiles import ProfileError, parse_profile

BASE = {"site_id": "warsaw", "tables": {"patients": {"file": "p.csv"}}}


def test_defaults_are_canonical():
    profile = parse_profile(BASE, "warsaw.yaml")
    assert (profile.delimiter, profile.decimal, profile.encoding) == (",", ".", "utf-8")
    assert profile.tables["patients"].source_column("sex") == "sex"


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"delimter": ";"}, "delimter"),
        ({"encoding": "klingon"}, "klingon"),
        ({"site_id": "../etc"}, "site_id"),
        ({"decimal": ";"}, "decimal"),
        ({"tables": {"patients": {"file": "p.csv", "columns": {"favourite_colour": "x"}}}}, "favourite_colour"),
        ({"tables": {"patients": {"file": "p.csv"}, "visits": {"file": "v.csv"}}}, "visits"),
        ({"tables": {"patients": {"file": "p.csv", "colums": {}}}}, "colums"),
    ],
)
def test_bad_profiles_name_the_key(change, named):
    with pytest.raises(ProfileError, match=named) as error:
        parse_profile({**BASE, **change}, "warsaw.yaml")
    assert "warsaw.yaml" in str(error.value)
