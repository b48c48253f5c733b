-- analysis.status_at_surgery: the same operations as surgery_on_tki (seed 003), by the
-- radiological disease status just before surgery: responsive / stable / focal progression /
-- multifocal (generalised) progression.  Grain: one operation (clustered by patient_id).
-- Origin: the date of surgery.  Columns: TKI at surgery, resection, age at surgery and the
-- patient characteristics of intermediate.int_patient_characteristics.
CREATE OR REPLACE VIEW analysis.status_at_surgery_subjects AS
SELECT
    o.operation_id                 AS subject_id,
    o.site_id,
    o.patient_id,
    o.disease_status               AS group_label,
    o.surgery_date                 AS origin_date,
    o.tki_agent,
    o.resection,
    o.operation_number,
    year(o.surgery_date) - c.birth_year AS age,
    c.* EXCLUDE (site_id, patient_id, birth_year)
FROM intermediate.int_operations_on_tki AS o
INNER JOIN intermediate.int_patient_characteristics AS c ON c.site_id = o.site_id AND c.patient_id = o.patient_id
WHERE o.disease_status IS NOT NULL;

CREATE OR REPLACE TABLE analysis.status_at_surgery AS  -- a table: every analysis reads it several times
SELECT * FROM analysis.time_to_event('analysis.status_at_surgery_subjects');
