-- analysis.progression_pattern: patients whose disease first progressed on first-line
-- imatinib, by the pattern of that progression (seed 004: focal vs generalised).
-- Grain: one patient.  Origin: the date of the first progression on imatinib.
-- Groups: focal vs multifocal (generalised).  PFS here is progression after salvage.
-- Columns: age at progression and the patient characteristics of intermediate.int_patient_characteristics.
CREATE OR REPLACE VIEW analysis.progression_pattern_subjects AS
SELECT
    g.patient_id                   AS subject_id,
    g.site_id,
    g.patient_id,
    g.pattern                      AS group_label,
    g.progression_date             AS origin_date,
    year(g.progression_date) - c.birth_year AS age,
    c.* EXCLUDE (site_id, patient_id, birth_year)
FROM intermediate.int_progression_context AS g
INNER JOIN intermediate.int_patient_characteristics AS c ON c.site_id = g.site_id AND c.patient_id = g.patient_id
WHERE g.ordinal = 1
  AND g.tki_line = 1
  AND g.tki_agent = 'imatinib';

CREATE OR REPLACE TABLE analysis.progression_pattern AS  -- a table: every analysis reads it several times
SELECT * FROM analysis.time_to_event('analysis.progression_pattern_subjects');
