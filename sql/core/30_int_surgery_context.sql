-- grain: one operation.
-- intermediate.int_surgery_context: one row per operation, with the TKI the patient was on at surgery.
-- The TKI at surgery is derived, never typed in: the latest episode that started on or
-- before the operation and was still running 30 days before it (TKIs are usually paused
-- for surgery, so an episode ending up to 30 days before the operation counts).
--   tki_agent / tki_line / tki_dose_mg : NULL when the patient was on no TKI
--   advanced_disease : the operation was on or after the date of metastatic/recurrent disease
CREATE OR REPLACE VIEW intermediate.int_surgery_context AS
WITH candidate AS (
    SELECT
        s.site_id, s.patient_id, s.surgery_date, s.line_number,
        e.agent, e.line, e.daily_dose_mg,
        row_number() OVER (PARTITION BY s.site_id, s.line_number ORDER BY e.start_date DESC) AS recency
    FROM core.surgeries AS s
    INNER JOIN core.tki_episodes AS e
      ON e.site_id = s.site_id AND e.patient_id = s.patient_id
     AND e.start_date <= s.surgery_date
     AND coalesce(e.end_date, DATE '9999-12-31') >= s.surgery_date - INTERVAL 30 DAY
)
SELECT
    s.*,
    c.agent          AS tki_agent,
    c.line           AS tki_line,
    c.daily_dose_mg  AS tki_dose_mg,
    s.surgery_date >= p.advanced_disease_date AS advanced_disease
FROM core.surgeries AS s
INNER JOIN core.patients AS p USING (site_id, patient_id)
LEFT JOIN candidate AS c
  ON c.site_id = s.site_id AND c.line_number = s.line_number AND c.recency = 1;
