-- intermediate.int_operations_on_tki: operations for advanced GIST on imatinib or sunitinib (seed 003,
-- Fairweather et al. 2018).  Grain: one operation; a patient may have several, so analyses of
-- this grain cluster by patient_id (docs/statistics.md, "Operation-level analyses").
--   operation_id  : patient id @ surgery date (unique per operation)
--   operation_number : 1 for the patient's first such operation, 2 for the next, ...
--   plus the operation's intent, disease status, resection, TKI at surgery, TKI continued after
CREATE OR REPLACE VIEW intermediate.int_operations_on_tki AS
SELECT
    s.patient_id || '@' || strftime(s.surgery_date, '%Y-%m-%d')   AS operation_id,
    s.site_id,
    s.patient_id,
    s.surgery_date,
    s.intent,
    s.disease_status,
    s.resection,
    s.tki_agent,
    s.tki_line,
    s.tki_continued,
    row_number() OVER (PARTITION BY s.site_id, s.patient_id ORDER BY s.surgery_date, s.line_number) AS operation_number
FROM intermediate.int_surgery_context AS s
WHERE s.advanced_disease
  AND s.intent <> 'primary_resection'
  AND s.tki_agent IN ('imatinib', 'sunitinib');
