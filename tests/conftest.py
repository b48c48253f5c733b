"""Shared test helpers: a tiny canonical site drop written on the fly, and isolated settings."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from pipelines.registry.ddl import create_registry
from pipelines.settings import Settings

PATIENTS_HEADER = ("patient_id,sex,birth_year,diagnosis_date,primary_site,primary_size_mm,mitotic_rate,rupture,mutation_gene,"
                   "mutation_exon,mutation_detail,nf1_syndrome,presenting_symptom,advanced_disease_date,tumour_count,"
                   "largest_tumour_mm,last_contact_date,vital_status,death_date,death_cause")
GOOD_PATIENT = "P1,male,1960,2015-01-02,stomach,50,3,false,KIT,11,,false,incidental,2016-01-01,2,40,2020-01-01,alive,,"
EPISODES_HEADER = "patient_id,line,agent,daily_dose_mg,start_date,end_date,end_reason,best_response"
EPISODE = "P1,1,imatinib,400,2016-01-10,,ongoing,PR"


def write_site(root: Path, site_id: str, patients: list[str], episodes: list[str]) -> None:
    """A canonical-dialect drop with a patients and a tki_episodes file, and its profile."""
    (root / "profiles").mkdir(parents=True, exist_ok=True)
    (root / "profiles" / f"{site_id}.yaml").write_text(
        f"site_id: {site_id}\ntables:\n  patients: {{file: patients.csv}}\n  tki_episodes: {{file: tki_episodes.csv}}\n")
    folder = root / "drops" / site_id
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "patients.csv").write_text("\n".join([PATIENTS_HEADER, *patients]) + "\n")
    (folder / "tki_episodes.csv").write_text("\n".join([EPISODES_HEADER, *episodes]) + "\n")


def make_settings(root: Path) -> Settings:
    """Settings with every folder and the registry file under ``root``."""
    return Settings(drop_dir=root / "drops", profiles_dir=root / "profiles", duckdb_path=root / "registry.duckdb",
                    archive_dir=root / "archive", output_dir=root / "outputs", data_cutoff=dt.date(2025, 6, 30),
                    min_cell_count=5, pseudonym_key=b"test-key", demo=False, publish_dir=root / "published")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def con(settings):
    """A fresh registry file with every table created."""
    connection = duckdb.connect(str(settings.duckdb_path))
    create_registry(connection)
    yield connection
    connection.close()
