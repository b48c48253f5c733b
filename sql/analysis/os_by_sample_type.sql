-- analysis.os_by_sample_type: overall survival from diagnosis by the type of the sequenced sample
-- (primary tumour, metastasis, recurrence), the comparison a cBioPortal GIST study supports.
-- Grain: one sample (subject_id = the sample's id within its site); a patient with a primary and a
-- metastasis sample is in both groups, so Cox variance is clustered on patient_id.
-- Origin: the patient's diagnosis (its date, or time 0 of times sent from a diagnosis anchor).
-- Columns: sample_type, specimen_type, assay, sex.
CREATE OR REPLACE VIEW analysis.os_by_sample_type_subjects AS
SELECT
    s.site_id || ':' || s.sample_id AS subject_id,
    s.site_id,
    s.patient_id,
    s.sample_type                   AS group_label,
    'diagnosis'                     AS origin_anchor,
    s.sample_type,
    s.specimen_type,
    s.assay,
    p.sex
FROM core.samples AS s
INNER JOIN core.patients AS p ON p.site_id = s.site_id AND p.patient_id = s.patient_id
WHERE s.sample_type IS NOT NULL;

CREATE OR REPLACE TABLE analysis.os_by_sample_type AS  -- a table: every analysis reads it several times
SELECT * FROM analysis.os_from_anchor('analysis.os_by_sample_type_subjects');

-- analysis.os_by_sample_type_flow: grain one registry sample (core.samples), as the frame's (a patient's samples
-- may fall in both groups, so a flow of patients could not end in the groups' n); the first cohort step it
-- fails (pipelines/stats/flow.py), NULL if none: the subjects view's WHERE, then the frame's rule (no follow-up
-- time from diagnosis, analysis.os_from_anchor).  The join to core.patients excludes no sample (a sample of no
-- registry patient is quarantined at ingest).  Recurrence samples leave as not in a compared group.
CREATE OR REPLACE MACRO analysis.os_by_sample_type_flow_steps() AS
    ['registry_samples', 'no_sample_type', 'no_follow_up_after_origin'];

CREATE OR REPLACE VIEW analysis.os_by_sample_type_flow AS
SELECT
    s.site_id,
    s.patient_id,
    s.site_id || ':' || s.sample_id AS subject_id,
    CASE
        WHEN s.sample_type IS NULL THEN 'no_sample_type'
        WHEN a.subject_id IS NULL THEN 'no_follow_up_after_origin'
    END AS excluded_reason,
    list_position(analysis.os_by_sample_type_flow_steps(), excluded_reason) - 1 AS excluded_step
FROM core.samples AS s
LEFT JOIN (SELECT DISTINCT site_id, subject_id FROM analysis.os_by_sample_type) AS a
  ON a.site_id = s.site_id AND a.subject_id = s.site_id || ':' || s.sample_id;
