-- analysis.surgery_after_imatinib: advanced GIST on first-line imatinib, cytoreductive surgery
-- on imatinib (before any progression) vs imatinib alone (seed 000, Park et al., ASCO GI 2013).
-- Grain: one patient.  Origin: the start of imatinib (intermediate.int_first_line_imatinib).
-- Cohort: patients whose best response on imatinib was not progression (primary resistance):
-- they are never candidates for this surgery (no chance of exposure: a positivity violation),
-- as in the seed's cohort of patients responding or stable on imatinib.
-- group_label is the naive, published grouping: 'surgery' if the patient was ever operated so
-- (by the data cut-off), else 'imatinib_alone'.  It credits the operated with the months before
-- surgery (immortal time), so the catalogue also names the exposure column:
--   surgery_months : months from imatinib start to that operation (NULL if never), from which the
--                    landmark and time-varying analyses are built (docs/statistics.md).
--   surgery_continued_months / surgery_stopped_months : surgery_months split by whether the TKI was
--                    continued (resumed) after that operation or stopped (core.surgeries.tki_continued);
--                    both NULL where that is not recorded (such a patient counts as unexposed in the split
--                    model: results.limits says so)
--   progression_months : months from imatinib start to the first progression, NULL if none by the end of
--                    follow-up: the PFS event time when it is a progression; the OS models take it as a
--                    time-varying covariate (a time-dependent confounder and mediator of surgery)
-- Columns: first-line response and starting dose, age at imatinib start, patient characteristics.
CREATE OR REPLACE VIEW analysis.surgery_after_imatinib_subjects AS
SELECT
    f.patient_id                   AS subject_id,
    f.site_id,
    f.patient_id,
    CASE WHEN f.surgery_date <= core.data_cutoff() THEN 'surgery' ELSE 'imatinib_alone' END AS group_label,
    f.imatinib_start               AS origin_date,
    CASE WHEN f.surgery_date <= core.data_cutoff()
         THEN datediff('day', f.imatinib_start, f.surgery_date) / 30.4375 END AS surgery_months,
    CASE WHEN f.surgery_date <= core.data_cutoff() AND o.tki_continued
         THEN datediff('day', f.imatinib_start, f.surgery_date) / 30.4375 END AS surgery_continued_months,
    CASE WHEN f.surgery_date <= core.data_cutoff() AND NOT o.tki_continued
         THEN datediff('day', f.imatinib_start, f.surgery_date) / 30.4375 END AS surgery_stopped_months,
    CASE WHEN f.first_progression_date <= u.censor_date
         THEN datediff('day', f.imatinib_start, f.first_progression_date) / 30.4375 END AS progression_months,
    f.first_line_response,
    f.starting_dose_mg,
    year(f.imatinib_start) - c.birth_year AS age,
    c.* EXCLUDE (site_id, patient_id, birth_year)
FROM intermediate.int_first_line_imatinib AS f
INNER JOIN intermediate.int_patient_characteristics AS c ON c.site_id = f.site_id AND c.patient_id = f.patient_id
INNER JOIN intermediate.int_follow_up AS u ON u.site_id = f.site_id AND u.patient_id = f.patient_id
LEFT JOIN intermediate.int_surgery_context AS o
  ON o.site_id = f.site_id AND o.patient_id = f.patient_id AND o.surgery_date = f.surgery_date
 AND o.intent = 'cytoreductive' AND o.advanced_disease AND o.tki_line = 1 AND o.tki_agent = 'imatinib'
WHERE f.first_line_response IS DISTINCT FROM 'progressive'
QUALIFY row_number() OVER (PARTITION BY f.site_id, f.patient_id ORDER BY o.line_number) = 1;

CREATE OR REPLACE TABLE analysis.surgery_after_imatinib AS  -- a table: every analysis reads it several times
SELECT * FROM analysis.time_to_event('analysis.surgery_after_imatinib_subjects');

-- analysis.surgery_after_imatinib_flow: grain one registry patient; the first cohort step the patient
-- fails (pipelines/stats/flow.py counts them for the report's flow diagram), NULL if none: the subjects view's
-- FROM and WHERE, then the frame's own rule (follow-up ending before the origin, analysis.time_to_event).  Its
-- joins to int_patient_characteristics and int_follow_up exclude nobody (one row per registry patient).  The
-- boxes are declared in order in analysis.surgery_after_imatinib_flow_steps() (sql/analysis/02_cohort_flow.sql).
CREATE OR REPLACE MACRO analysis.surgery_after_imatinib_flow_steps() AS
    ['registry_patients', 'not_first_line_imatinib', 'primary_resistance', 'no_follow_up_after_origin'];

CREATE OR REPLACE VIEW analysis.surgery_after_imatinib_flow AS
SELECT
    c.site_id,
    c.patient_id,
    CASE
        WHEN f.patient_id IS NULL THEN 'not_first_line_imatinib'
        WHEN f.first_line_response = 'progressive' THEN 'primary_resistance'
        WHEN NOT c.in_frame THEN 'no_follow_up_after_origin'
    END AS excluded_reason,
    list_position(analysis.surgery_after_imatinib_flow_steps(), excluded_reason) - 1 AS excluded_step
FROM analysis.flow_patients('analysis.surgery_after_imatinib') AS c
LEFT JOIN intermediate.int_first_line_imatinib AS f ON f.site_id = c.site_id AND f.patient_id = c.patient_id;
