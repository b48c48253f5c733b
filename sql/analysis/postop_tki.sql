-- analysis.postop_tki: cytoreductive surgery on first-line imatinib before any progression
-- (surgery after response, seed 001, Rutkowski et al. 2006), by whether the TKI was continued
-- after surgery.  Grain: one patient (their first such operation).  Origin: the date of surgery.
-- Groups: continued / stopped (NULL tki_continued is labelled unknown and left out).
-- Endpoints: RFS (recurrence = first progression after surgery, or death) and OS; the catalogue
-- adds the proportion with an RFS event within 12 months (Fisher's exact test).
CREATE OR REPLACE VIEW analysis.postop_tki_subjects AS
SELECT
    f.patient_id                   AS subject_id,
    f.site_id,
    f.patient_id,
    CASE o.tki_continued WHEN true THEN 'continued' WHEN false THEN 'stopped' ELSE 'unknown' END AS group_label,
    f.surgery_date                 AS origin_date,
    o.disease_status,
    o.resection,
    o.resection = 'R0'             AS resection_r0,
    f.first_line_response,
    year(f.surgery_date) - c.birth_year AS age,
    c.* EXCLUDE (site_id, patient_id, birth_year)
FROM intermediate.int_first_line_imatinib AS f
INNER JOIN intermediate.int_operations_on_tki AS o
  ON o.site_id = f.site_id AND o.patient_id = f.patient_id AND o.surgery_date = f.surgery_date
INNER JOIN intermediate.int_patient_characteristics AS c ON c.site_id = f.site_id AND c.patient_id = f.patient_id
QUALIFY row_number() OVER (PARTITION BY f.site_id, f.patient_id ORDER BY o.operation_number) = 1;

CREATE OR REPLACE TABLE analysis.postop_tki AS  -- a table: every analysis reads it several times
SELECT * FROM analysis.time_to_event('analysis.postop_tki_subjects', progression_code := 'RFS');

-- analysis.postop_tki_flow: grain one registry patient; the first cohort step the patient fails
-- (pipelines/stats/flow.py), NULL if none: the subjects view's FROM (first-line imatinib) and JOIN (its first
-- cytoreductive operation on line-1 imatinib before progression, int_first_line_imatinib.surgery_date, among the
-- operations on a TKI), then the frame's rule.  A TKI continuation not recorded leaves as not in a compared group.
CREATE OR REPLACE MACRO analysis.postop_tki_flow_steps() AS
    ['registry_patients', 'not_first_line_imatinib', 'no_surgery_on_first_line_imatinib', 'no_follow_up_after_origin'];

CREATE OR REPLACE VIEW analysis.postop_tki_flow AS
SELECT
    c.site_id,
    c.patient_id,
    CASE
        WHEN f.patient_id IS NULL THEN 'not_first_line_imatinib'
        WHEN o.patient_id IS NULL THEN 'no_surgery_on_first_line_imatinib'
        WHEN NOT c.in_frame THEN 'no_follow_up_after_origin'
    END AS excluded_reason,
    list_position(analysis.postop_tki_flow_steps(), excluded_reason) - 1 AS excluded_step
FROM analysis.flow_patients('analysis.postop_tki') AS c
LEFT JOIN intermediate.int_first_line_imatinib AS f ON f.site_id = c.site_id AND f.patient_id = c.patient_id
LEFT JOIN intermediate.int_operations_on_tki AS o
  ON o.site_id = f.site_id AND o.patient_id = f.patient_id AND o.surgery_date = f.surgery_date
QUALIFY row_number() OVER (PARTITION BY c.site_id, c.patient_id ORDER BY o.operation_number) = 1;
