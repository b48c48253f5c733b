-- grain: one registry patient (analysis.flow_patients) or operation (analysis.operations_on_tki_flow).
-- Shared by the cohort flow views analysis.<id>_flow (pipelines/stats/flow.py): each gives every registry unit
-- (patient, or the frame's operation or sample) the first cohort step it fails, a CASE in the order of
-- analysis.<id>_flow_steps(), the boxes declared in order (the root registry_<unit>, then every reason the view
-- can give: excluded_step is the reason's place after the root), so that a step excluding nobody is drawn with
-- its 0.  The last step of each is the frame's own rule (analysis.time_to_event / os_from_anchor leave out a
-- subject whose follow-up ends before its origin): no_follow_up_after_origin.
--
-- analysis.flow_patients(frame): every registry patient (intermediate.int_patient_characteristics)
--   in_frame        : whether the patient is a subject of that patient-level frame
CREATE OR REPLACE MACRO analysis.flow_patients(frame) AS TABLE
SELECT
    c.site_id,
    c.patient_id,
    a.subject_id IS NOT NULL AS in_frame
FROM intermediate.int_patient_characteristics AS c
LEFT JOIN (SELECT DISTINCT site_id, subject_id FROM query_table(frame)) AS a
  ON a.site_id = c.site_id AND a.subject_id = c.patient_id;

-- analysis.operations_on_tki_flow(frame): every registry operation (intermediate.int_surgery_context) with the
-- first condition of intermediate.int_operations_on_tki it fails, in that view's WHERE order (NULL if it is an
-- operation on a TKI there); surgery_on_tki and status_at_surgery start their flows from it, at the frame's
-- grain (operations, as their km_summary's n: docs/statistics.md, "Cohort flow"), its steps after the root
-- (analysis.operations_on_tki_flow_steps()) first in theirs.
--   subject_id       : the operation's id as intermediate.int_operations_on_tki writes it (patient @ surgery date)
--   disease_status   : as in intermediate.int_surgery_context (status_at_surgery's further step)
--   operation_reason : not_advanced_disease, primary_resection, not_on_imatinib_or_sunitinib (labels.yaml flow)
--   in_frame         : whether the operation is a subject of that operation-level frame
CREATE OR REPLACE MACRO analysis.operations_on_tki_flow_steps() AS
    ['registry_operations', 'not_advanced_disease', 'primary_resection', 'not_on_imatinib_or_sunitinib'];

CREATE OR REPLACE MACRO analysis.operations_on_tki_flow(frame) AS TABLE
WITH operation AS (
    SELECT
        s.*,
        s.patient_id || '@' || strftime(s.surgery_date, '%Y-%m-%d') AS subject_id
    FROM intermediate.int_surgery_context AS s
)

SELECT
    o.site_id,
    o.patient_id,
    o.subject_id,
    o.disease_status,
    CASE
        WHEN NOT coalesce(o.advanced_disease, false) THEN 'not_advanced_disease'
        WHEN NOT coalesce(o.intent <> 'primary_resection', false) THEN 'primary_resection'
        WHEN NOT coalesce(o.tki_agent IN ('imatinib', 'sunitinib'), false) THEN 'not_on_imatinib_or_sunitinib'
    END AS operation_reason,
    a.subject_id IS NOT NULL AS in_frame
FROM operation AS o
LEFT JOIN (SELECT DISTINCT site_id, subject_id FROM query_table(frame)) AS a
  ON a.site_id = o.site_id AND a.subject_id = o.subject_id;
