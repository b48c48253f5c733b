"""The registry's cohort as a cBioPortal study folder (docs/publishing.md, "cBioPortal study").

Patient-level, so it belongs with the analyst tier (registry staff and approved analysts under a
data-use agreement): it carries pseudonyms only (patient ids are the registry's keyed hashes, sample
ids are numbered per pseudonym, never the site's own), no calendar date at all (overall survival as
months from diagnosis, as cBioPortal's OS_MONTHS), and no free-text column (the sample's site and
assay as typed by a site could name a person or a place).  Only patients with at least one sample
are written: a cBioPortal study is a set of samples, and a sample is never made up.  Endpoints a site
reported (PFS, DFS: a time with its status from its own anchor) are written as sent, in months, where any
patient has them, so a re-import reads the same values.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

GIST = "Gastrointestinal Stromal Tumor"

PATIENT_ATTRIBUTES = (  # column, display name, description, datatype, priority
    ("PATIENT_ID", "Patient Identifier", "Registry pseudonym of the patient (keyed hash).", "STRING", 1),
    ("SEX", "Sex", "Sex of the patient.", "STRING", 1),
    ("OS_MONTHS", "Overall Survival (Months)", "Overall survival in months since diagnosis.", "NUMBER", 1),
    ("OS_STATUS", "Overall Survival Status", "Overall patient survival status.", "STRING", 1),
)
SAMPLE_ATTRIBUTES = (
    ("PATIENT_ID", "Patient Identifier", "Registry pseudonym of the patient (keyed hash).", "STRING", 1),
    ("SAMPLE_ID", "Sample Identifier", "The patient's pseudonym and the sample's number.", "STRING", 1),
    ("CANCER_TYPE", "Cancer Type", "Cancer type.", "STRING", 1),
    ("CANCER_TYPE_DETAILED", "Cancer Type Detailed", "Cancer type detailed.", "STRING", 1),
    ("SAMPLE_TYPE", "Sample Type", "Primary tumour, metastasis or recurrence.", "STRING", 1),
    ("SPECIMEN_TYPE", "Specimen Type", "Resection or biopsy.", "STRING", 1),
)

# overall survival from diagnosis for every patient, dated or sent in times from a diagnosis anchor, by the
# registry's one definition (analysis.os_from_anchor); NA where it cannot be known (never made up)
SUBJECTS_SQL = """
CREATE OR REPLACE TEMP VIEW _cbioportal_subjects AS
SELECT p.patient_id::VARCHAR AS subject_id, p.site_id, p.patient_id, 'all' AS group_label, 'diagnosis' AS origin_anchor
FROM core.patients AS p SEMI JOIN core.samples AS s USING (site_id, patient_id)
"""
PATIENTS_SQL = """
SELECT e.patient_id::VARCHAR AS PATIENT_ID,
       CASE p.sex WHEN 'male' THEN 'Male' WHEN 'female' THEN 'Female' ELSE 'NA' END AS SEX,
       coalesce(o.aval::VARCHAR, 'NA') AS OS_MONTHS,
       CASE o.cnsr WHEN 0 THEN '1:DECEASED' WHEN 1 THEN '0:LIVING' ELSE 'NA' END AS OS_STATUS,
       coalesce(pfs.months::VARCHAR, 'NA') AS PFS_MONTHS,
       CASE pfs.event WHEN true THEN '1:PROGRESSED' WHEN false THEN '0:CENSORED' ELSE 'NA' END AS PFS_STATUS,
       coalesce(dfs.months::VARCHAR, 'NA') AS DFS_MONTHS,
       CASE dfs.event WHEN true THEN '1:Recurred/Progressed' WHEN false THEN '0:DiseaseFree' ELSE 'NA' END
           AS DFS_STATUS
FROM _cbioportal_subjects AS e
JOIN core.patients AS p USING (site_id, patient_id)
LEFT JOIN analysis.os_from_anchor('_cbioportal_subjects') AS o ON o.subject_id = e.subject_id
LEFT JOIN analysis.reported_endpoints AS pfs
    ON pfs.site_id = e.site_id AND pfs.patient_id = e.patient_id AND pfs.endpoint = 'PFS'
LEFT JOIN analysis.reported_endpoints AS dfs
    ON dfs.site_id = e.site_id AND dfs.patient_id = e.patient_id AND dfs.endpoint = 'DFS'
ORDER BY 1
"""
# the anchors of the reported endpoints written, for the attributes' descriptions (cBioPortal's own words,
# "since treatment", name no treatment either)
ANCHORS_SQL = """
SELECT endpoint, string_agg(DISTINCT anchor, ', ' ORDER BY anchor)
FROM analysis.reported_endpoints SEMI JOIN _cbioportal_subjects USING (site_id, patient_id)
GROUP BY endpoint
"""
REPORTED = {  # endpoint: its two attributes (months, status), as cBioPortal's clinical files name them
    "PFS": (
        (
            "PFS_MONTHS",
            "Progress Free Survival (Months)",
            "Progression free survival in months as reported",
            "NUMBER",
            1,
        ),
        ("PFS_STATUS", "Progression Free Status", "Progression free status as reported", "STRING", 1),
    ),
    "DFS": (
        ("DFS_MONTHS", "Disease Free (Months)", "Disease free in months as reported", "NUMBER", 1),
        ("DFS_STATUS", "Disease Free Status", "Disease free status as reported", "STRING", 1),
    ),
}
SAMPLES_SQL = f"""
SELECT patient_id::VARCHAR AS PATIENT_ID,
       patient_id::VARCHAR || '-S' || row_number() OVER (PARTITION BY patient_id ORDER BY sample_id) AS SAMPLE_ID,
       '{GIST}' AS CANCER_TYPE, '{GIST}' AS CANCER_TYPE_DETAILED,
       coalesce(CASE sample_type WHEN 'primary' THEN 'Primary' WHEN 'metastasis' THEN 'Metastasis'
                WHEN 'recurrence' THEN 'Recurrence' END, 'NA') AS SAMPLE_TYPE,
       coalesce(CASE specimen_type WHEN 'resection' THEN 'Resection' WHEN 'biopsy' THEN 'Biopsy' END, 'NA')
           AS SPECIMEN_TYPE
FROM core.samples
ORDER BY 1, 2
"""


@dataclass(frozen=True)
class StudyExport:
    directory: Path
    patients: int
    samples: int


def _clinical_file(path: Path, attributes: tuple, rows: list[tuple]) -> None:
    """A clinical data file: the four '#' metadata rows, the header, tab-separated rows."""
    lines = [
        "#" + "\t".join(a[1] for a in attributes),
        "#" + "\t".join(a[2] for a in attributes),
        "#" + "\t".join(a[3] for a in attributes),
        "#" + "\t".join(str(a[4]) for a in attributes),
        "\t".join(a[0] for a in attributes),
        *("\t".join(str(v) for v in row) for row in rows),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _patients(con: duckdb.DuckDBPyConnection) -> tuple[tuple, list[tuple]]:
    """The patient attributes and rows, each reported endpoint's pair only where some patient has it (its anchor
    in the description: a reader of the study cannot see the registry's pfs_anchor / dfs_anchor)."""
    anchors = dict(con.execute(ANCHORS_SQL).fetchall())
    cursor = con.execute(PATIENTS_SQL)
    names = [column[0] for column in cursor.description]
    attributes = list(PATIENT_ATTRIBUTES)
    for endpoint, pair in REPORTED.items():
        if endpoint in anchors:
            attributes += [(c, d, f"{text}, from its anchor: {anchors[endpoint]}.", *r) for c, d, text, *r in pair]
    keep = [names.index(attribute[0]) for attribute in attributes]
    return tuple(attributes), [tuple(row[i] for i in keep) for row in cursor.fetchall()]


def _meta(path: Path, fields: dict[str, str]) -> None:
    path.write_text("".join(f"{key}: {value}\n" for key, value in fields.items()), encoding="utf-8")


def export_study(con: duckdb.DuckDBPyConnection, directory: Path, study_id: str) -> StudyExport:
    """Write the study folder (meta_study.txt, the clinical meta and data files) into ``directory``."""
    con.execute(SUBJECTS_SQL)  # a temporary view: the registry itself is only read
    patient_attributes, patients = _patients(con)
    samples = con.execute(SAMPLES_SQL).fetchall()
    directory.mkdir(parents=True, exist_ok=True)
    _meta(
        directory / "meta_study.txt",
        {
            "type_of_cancer": "gist",
            "cancer_study_identifier": study_id,
            "name": "GIST registry cohort (gist-registry)",
            "description": "Pseudonymised patients with at least one sample; overall survival in months since "
            "diagnosis; no dates. Analyst tier: under a data-use agreement only.",
            "add_global_case_list": "true",
        },
    )
    for kind, datatype in (("patient", "PATIENT_ATTRIBUTES"), ("sample", "SAMPLE_ATTRIBUTES")):
        _meta(
            directory / f"meta_clinical_{kind}.txt",
            {
                "cancer_study_identifier": study_id,
                "genetic_alteration_type": "CLINICAL",
                "datatype": datatype,
                "data_filename": f"data_clinical_{kind}.txt",
            },
        )
    _clinical_file(directory / "data_clinical_patient.txt", patient_attributes, patients)
    _clinical_file(directory / "data_clinical_sample.txt", SAMPLE_ATTRIBUTES, samples)
    return StudyExport(directory, len(patients), len(samples))
