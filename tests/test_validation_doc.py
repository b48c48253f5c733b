from pipelines.ingest.checks import DOC_PATH, all_checks, rendered_doc


def test_committed_checks_table_is_current():
    current = DOC_PATH.read_text(encoding="utf-8")
    assert current == rendered_doc(current), "run: uv run python -m pipelines.ingest.checks"


def test_every_check_has_a_kahn_category_and_severity():
    for check in all_checks().values():
        assert check.category in {"conformance", "completeness", "plausibility"}, check
        assert check.severity in {"fatal", "error", "warning"}, check
