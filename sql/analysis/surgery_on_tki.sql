-- analysis.surgery_on_tki: operations for advanced GIST on a TKI, by the TKI at surgery
-- (seed 003, Fairweather et al. 2018).  Grain: one operation (intermediate.int_operations_on_tki; a
-- patient may have several, so the catalogue clusters the Cox models by patient_id).
-- Origin: the date of surgery.  Groups: imatinib vs sunitinib at surgery (derived, never typed in).
-- Columns besides the ADTTE ones: disease status, resection, TKI line, operation number, age at
-- surgery and the patient characteristics of intermediate.int_patient_characteristics.
-- Cohort flow (analysis.surgery_on_tki_flow) at the frame's grain: operations, not patients.  The groups' n
-- (km_summary) count operations and a patient operated on imatinib and later on sunitinib is in both groups,
-- so a flow of patients could not end in them by subtraction; the flow starts from the registry's
-- operations and ends in each group's operations (the patients per group are Table 1's units rows).
CREATE OR REPLACE VIEW analysis.surgery_on_tki_subjects AS
SELECT
    o.operation_id                 AS subject_id,
    o.site_id,
    o.patient_id,
    o.tki_agent                    AS group_label,
    o.surgery_date                 AS origin_date,
    cast(o.disease_status AS ENUM ('responsive', 'stable', 'focal_progression', 'multifocal_progression'))
                                   AS disease_status,  -- ENUM: responsive is the covariate's reference level
    o.resection,
    o.tki_line,
    o.operation_number,
    year(o.surgery_date) - c.birth_year AS age,
    c.* EXCLUDE (site_id, patient_id, birth_year)
FROM intermediate.int_operations_on_tki AS o
INNER JOIN intermediate.int_patient_characteristics AS c ON c.site_id = o.site_id AND c.patient_id = o.patient_id;

CREATE OR REPLACE TABLE analysis.surgery_on_tki AS  -- a table: every analysis reads it several times
SELECT * FROM analysis.time_to_event('analysis.surgery_on_tki_subjects');

-- analysis.surgery_on_tki_flow: grain one registry operation; the first cohort step it fails
-- (pipelines/stats/flow.py), NULL if none: the conditions of intermediate.int_operations_on_tki
-- (analysis.operations_on_tki_flow), then the frame's own (follow-up ending before the surgery).  The join to
-- intermediate.int_patient_characteristics excludes no operation (one row per registry patient).
CREATE OR REPLACE MACRO analysis.surgery_on_tki_flow_steps() AS
    list_concat(analysis.operations_on_tki_flow_steps(), ['no_follow_up_after_origin']);

CREATE OR REPLACE VIEW analysis.surgery_on_tki_flow AS
SELECT
    o.site_id,
    o.patient_id,
    o.subject_id,
    coalesce(o.operation_reason, CASE
        WHEN NOT o.in_frame THEN 'no_follow_up_after_origin'
    END) AS excluded_reason,
    list_position(analysis.surgery_on_tki_flow_steps(), excluded_reason) - 1 AS excluded_step
FROM analysis.operations_on_tki_flow('analysis.surgery_on_tki') AS o;
