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
