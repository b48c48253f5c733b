"""A bad setting is refused with the variable named, before anything runs."""

import pytest

from pipelines.settings import BUNDLED_DROPS, DEMO_KEY, ConfigurationError, load_settings

GOOD_KEY = "k" * 16 + "0123456789abcdef"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in (
        "GIST_PSEUDONYM_KEY",
        "GIST_PSEUDONYM_KEY_FILE",
        "GIST_DEMO",
        "GIST_DROP_DIR",
        "GIST_MIN_CELL_COUNT",
        "GIST_DATA_CUTOFF",
        "GIST_LOCK_TIMEOUT_SECONDS",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("GIST_PSEUDONYM_KEY", "a", "GIST_PSEUDONYM_KEY: the key has 1 bytes"),
        ("GIST_PSEUDONYM_KEY", DEMO_KEY, "public demo key"),
        ("GIST_MIN_CELL_COUNT", "-3", "GIST_MIN_CELL_COUNT=-3: must be at least 2"),
        ("GIST_MIN_CELL_COUNT", "abc", "GIST_MIN_CELL_COUNT='abc': not a whole number"),
        ("GIST_DATA_CUTOFF", "31.12.2024", "GIST_DATA_CUTOFF='31.12.2024': not an ISO date"),
        ("GIST_LOCK_TIMEOUT_SECONDS", "soon", "GIST_LOCK_TIMEOUT_SECONDS='soon': not a number"),
        (
            "GIST_PSEUDONYM_KEY_FILE",
            "/nonexistent/key",
            "GIST_PSEUDONYM_KEY_FILE=/nonexistent/key: cannot read the key file",
        ),
    ],
)
def test_bad_values_name_their_variable(monkeypatch, variable, value, message):
    monkeypatch.setenv("GIST_PSEUDONYM_KEY", GOOD_KEY)
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_settings()


def test_a_key_file_is_read_and_stripped(monkeypatch, tmp_path):
    (tmp_path / "key").write_text(GOOD_KEY + "\n")
    monkeypatch.setenv("GIST_PSEUDONYM_KEY_FILE", str(tmp_path / "key"))
    assert load_settings().pseudonym_key == GOOD_KEY.encode()


def test_the_demo_key_only_pseudonymises_the_bundled_sample_drops(monkeypatch, tmp_path):
    monkeypatch.setenv("GIST_DEMO", "1")
    assert load_settings().pseudonym_key == DEMO_KEY.encode() and load_settings().drop_dir == BUNDLED_DROPS
    monkeypatch.setenv("GIST_DROP_DIR", str(tmp_path))
    with pytest.raises(ConfigurationError, match="only runs on the bundled sample drops"):
        load_settings()
