-- analysis.surgery_on_tki: operations for advanced GIST on a TKI, by the TKI at surgery
-- (seed 003, Fairweather et al. 2018).  Grain: one operation (a patient may have several).
-- Origin: the date of surgery.  Groups: imatinib vs sunitinib at surgery (derived in
-- core.int_surgery_context).  Covariates: disease status at surgery, completeness of
-- resection, sex, line of therapy.
CREATE OR REPLACE VIEW analysis.surgery_on_tki_subjects AS
SELECT
    s.patient_id || '@' || strftime(s.surgery_date, '%Y-%m-%d') AS subject_id,
    s.site_id,
    s.patient_id,
    s.tki_agent                    AS group_label,
    s.surgery_date                 AS origin_date,
    s.disease_status,
    s.resection,
    s.tki_line,
    p.sex
FROM core.int_surgery_context AS s
JOIN core.patients AS p USING (site_id, patient_id)
WHERE s.advanced_disease
  AND s.intent <> 'primary_resection'
  AND s.tki_agent IN ('imatinib', 'sunitinib');

CREATE OR REPLACE VIEW analysis.surgery_on_tki AS
SELECT * FROM analysis.time_to_event('analysis.surgery_on_tki_subjects');
