"""What the Dagster UI shows, read through its GraphQL API: a site folder dropped on an instance with a key set
reaches a new published copy by the sensors alone, and the asset checks page lists every check on its table
with its result, counts and thresholds."""

import json
import os
import shutil
import time
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.test_utils import in_process_test_workspace
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster_graphql.test.utils import execute_dagster_graphql

from tests.conftest import TRUTH

pytestmark = pytest.mark.slow  # a whole ingest and refresh (about a minute)

ROOT = Path(__file__).resolve().parent.parent
SITE = "warsaw"

MATERIALIZATIONS = """
query ($path: [String!]!) {
  assetOrError(assetKey: {path: $path}) {
    ... on Asset {
      assetMaterializations {
        runId
        metadataEntries { label ... on IntMetadataEntry { intValue } ... on FloatMetadataEntry { floatValue } }
      }
    }
  }
}"""
CHECKS = """
query ($path: [String!]!) {
  assetNodeOrError(assetKey: {path: $path}) {
    ... on AssetNode {
      assetChecksOrError {
        ... on AssetChecks {
          checks {
            name
            blocking
            executionForLatestMaterialization {
              status
              evaluation {
                metadataEntries { label ... on IntMetadataEntry { intValue } ... on JsonMetadataEntry { jsonString } }
              }
            }
          }
        }
      }
    }
  }
}"""


def _query(context, query: str, *path: str) -> dict:
    result = execute_dagster_graphql(context, query, {"path": list(path)})
    assert not result.errors, result.errors
    return result.data


def _materializations(context, *path: str) -> list[dict]:
    return _query(context, MATERIALIZATIONS, *path)["assetOrError"]["assetMaterializations"]


def _entries(entries: list[dict]) -> dict[str, object]:
    return {e["label"]: e.get("intValue", e.get("floatValue", e.get("jsonString"))) for e in entries}


@pytest.fixture
def dropped(tmp_path, monkeypatch):
    """One site's sample drop, settled, in an empty registry whose key is set."""
    shutil.copytree(ROOT / "fixtures" / "sample_drops" / SITE, tmp_path / "drops" / SITE)
    settled = time.time() - 3600
    for path in (tmp_path / "drops").rglob("*"):
        os.utime(path, (settled, settled))
    truth = json.loads((ROOT / "fixtures" / "sample_drops" / "TRUTH.json").read_text())
    for name, value in {
        "GIST_DROP_DIR": tmp_path / "drops",
        "GIST_PROFILES_DIR": ROOT / "fixtures" / "profiles",
        "GIST_DUCKDB_PATH": tmp_path / "r.duckdb",
        "GIST_ARCHIVE_DIR": tmp_path / "archive",
        "GIST_OUTPUT_DIR": tmp_path / "out",
        "GIST_PUBLISH_DIR": tmp_path / "published",
        "GIST_PSEUDONYM_KEY": "ui-test-key-0123456789abcdef01234567",
        "GIST_DATA_CUTOFF": truth["cutoff"],
    }.items():
        monkeypatch.setenv(name, str(value))
    return tmp_path


def _run(job: dg.JobDefinition, instance: dg.DagsterInstance, request: dg.RunRequest) -> dg.ExecuteInProcessResult:
    """What the daemon does with a sensor's request, in this process."""
    tags = {**request.tags, "dagster/run_key": request.run_key}
    return job.execute_in_process(instance=instance, partition_key=request.partition_key, tags=tags)


def test_a_dropped_site_reaches_a_new_published_copy_and_every_check_shows_on_its_table(dropped):
    from pipelines.definitions import ASSETS
    from pipelines.defs.automation import ingest_job, refresh_after_drops, refresh_job, site_drop_sensor
    from pipelines.defs.event_log import instance_settings
    from pipelines.defs.ingest import core_checks
    from pipelines.ingest.checks import checks_for_table
    from pipelines.resources import default_resources
    from schemas.contract import CONTRACT

    jobs = dg.Definitions(  # resources from this test's environment, as the code location reads them at run start
        assets=ASSETS,
        asset_checks=[core_checks],
        jobs=[ingest_job, refresh_job],
        resources=default_resources(),
    )
    origin = LoadableTargetOrigin(module_name="pipelines.definitions", attribute="defs", working_directory=str(ROOT))
    home = dropped / "dagster_home"  # the project's dagster.yaml: the one-writer pool, the pooled event log
    home.mkdir()
    with (
        dg.instance_for_test(overrides=instance_settings(home), temp_dir=str(home)) as instance,
        in_process_test_workspace(instance, origin) as context,
    ):
        assert _materializations(context, "published_copy") == []

        tick = site_drop_sensor(dg.build_sensor_context(instance=instance))
        for request in tick.dynamic_partitions_requests:
            instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
        (ingest,) = tick.run_requests
        assert ingest.partition_key == SITE
        assert _run(jobs.resolve_job_def(ingest_job.name), instance, ingest).success
        refresh_request = refresh_after_drops(dg.build_sensor_context(instance=instance))
        assert isinstance(refresh_request, dg.RunRequest)  # the drop alone starts the refresh
        refresh = _run(jobs.resolve_job_def(refresh_job.name), instance, refresh_request)
        assert refresh.success

        (published,) = _materializations(context, "published_copy")
        assert published["runId"] == refresh.run_id
        (view,) = _materializations(context, "published", "v_hazard_ratios")
        assert view["runId"] == refresh.run_id and _entries(view["metadataEntries"])["dagster/row_count"] > 0
        (cox,) = _materializations(context, "results", "cox")
        numbers = _entries(cox["metadataEntries"])
        hazard_ratios = [label for label in numbers if " HR " in label]  # with their CI limits and p
        assert hazard_ratios and all(isinstance(numbers[label], float) for label in hazard_ratios)

        for table in CONTRACT:
            data = _query(context, CHECKS, "core", table)["assetNodeOrError"]["assetChecksOrError"]["checks"]
            checks = {c["name"]: c for c in data}
            expected = {"every_line_accounted_for", *(c.check_id.replace(".", "__") for c in checks_for_table(table))}
            assert set(checks) == expected, table
            assert checks["every_line_accounted_for"]["blocking"]
            for name, check in checks.items():
                execution = check["executionForLatestMaterialization"]
                assert execution["status"] in ("SUCCEEDED", "FAILED"), (table, name)
                if name == "every_line_accounted_for":
                    continue
                shown = _entries(execution["evaluation"]["metadataEntries"])
                site = json.loads(shown["per_site"])[SITE]
                sent = table in TRUTH["sites"][SITE]["tables"]  # an optional table the site does not send has no lines
                assert shown["data_lines"] == site["data_lines"] and (site["data_lines"] > 0) == sent, (table, name)
                assert "threshold" in site, (table, name)

        logged = [str(r.dagster_event) for run in instance.get_runs() for r in instance.all_logs(run.run_id)]
        assert not [text for text in logged if "iVBORw0KGgo" in text or "data:image" in text]  # no embedded PNG
