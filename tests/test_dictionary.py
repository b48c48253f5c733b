from schemas.dictionary import DICTIONARY_PATH, render


def test_committed_data_dictionary_is_current():
    assert DICTIONARY_PATH.read_text(encoding="utf-8") == render(), "run: uv run python -m schemas.dictionary"
