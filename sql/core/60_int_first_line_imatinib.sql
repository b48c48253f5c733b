-- grain: one patient (patient_id) with first-line imatinib.
-- intermediate.int_first_line_imatinib: one row per patient whose first line for advanced disease is
-- imatinib; the first-line course every imatinib-origin analysis starts from.
--   imatinib_start      : first day of line 1
--   starting_dose_mg    : dose of the first episode (KIT exon 9 may start on 800 mg)
--   best_response       : best RECIST response recorded on the first episode
--   first_line_response : that response grouped: responsive (CR/PR), stable (SD), progressive (PD), NULL (NE/unknown);
--                         an ENUM, so that models and Table 1 take responsive as the reference level,
--                         not the first in sorted order
--   first_progression_date : the patient's first progression after imatinib start (NULL if none)
--   surgery_date        : first cytoreductive operation on line-1 imatinib before that progression
--                         (intermediate.int_surgery_context derives the TKI at surgery), NULL if none
--   interruption_date   : end of the first line-1 episode that ended as a planned interruption
CREATE OR REPLACE VIEW intermediate.int_first_line_imatinib AS
WITH line1 AS (
    SELECT l.site_id, l.patient_id, l.start_date AS imatinib_start, l.starting_dose_mg,
           (SELECT arg_min(e.best_response, e.start_date) FROM core.tki_episodes AS e
             WHERE e.site_id = l.site_id AND e.patient_id = l.patient_id AND e.line = 1
               AND coalesce(e.setting, 'advanced') = 'advanced') AS best_response,
           (SELECT min(g.progression_date) FROM core.progressions AS g
             WHERE g.site_id = l.site_id AND g.patient_id = l.patient_id
               AND g.progression_date > l.start_date)                   AS first_progression_date
    FROM intermediate.int_tki_lines AS l
    WHERE l.line = 1 AND l.agent = 'imatinib'
)
SELECT
    f.*,
    cast(CASE WHEN f.best_response IN ('CR', 'PR') THEN 'responsive' WHEN f.best_response = 'SD' THEN 'stable'
              WHEN f.best_response = 'PD' THEN 'progressive' END
         AS ENUM ('responsive', 'stable', 'progressive'))               AS first_line_response,
    (SELECT min(s.surgery_date) FROM intermediate.int_surgery_context AS s
      WHERE s.site_id = f.site_id AND s.patient_id = f.patient_id
        AND s.intent = 'cytoreductive' AND s.advanced_disease
        AND s.tki_line = 1 AND s.tki_agent = 'imatinib'
        AND s.surgery_date < coalesce(f.first_progression_date, DATE '9999-12-31')) AS surgery_date,
    (SELECT min(e.end_date) FROM core.tki_episodes AS e
      WHERE e.site_id = f.site_id AND e.patient_id = f.patient_id
        AND e.line = 1 AND e.end_reason = 'planned_interruption'
        AND coalesce(e.setting, 'advanced') = 'advanced')               AS interruption_date
FROM line1 AS f;
