-- grain: one subject and endpoint (subject_id, paramcd), checked in every analysis frame.
-- analysis.time_to_event(subjects [, progression_code := 'PFS' | 'RFS']): the one definition of
-- PFS, RFS and OS, shared by every analysis.
-- Input: the name of a view with one row per subject and columns
--   subject_id, site_id, patient_id, group_label, origin_date (+ any covariates).
-- Output: two rows per subject (PARAMCD 'PFS' or 'RFS', and 'OS'), in CDISC ADaM ADTTE style:
--   paramcd, param   : endpoint code and name
--   startdt          : time origin (the subject's origin_date)
--   adt              : date of the event, or of censoring
--   aval             : months from startdt to adt (days / 30.4375)
--   cnsr             : 0 = event, 1 = censored (ADaM convention)
--   evntdesc         : what happened at adt
--   srcdom           : the registry column adt was taken from
--   cause            : competing-risk cause code (docs/statistics.md, "Competing risks"): 0 censored;
--                      PFS/RFS 1 progression or recurrence, 2 death before it; OS 1 death from GIST,
--                      2 death from another known cause (treatment-related or other), 3 death of unknown
--                      cause (recorded unknown, or no cause recorded)
--   causedesc        : that cause in words (NULL if censored)
-- PFS = first progression after the origin, or death from any cause, whichever is first.
-- RFS = the same derivation after surgery (progressions recorded after an operation are its
--       recurrences), for analyses whose origin is an operation: PARAMCD 'RFS', EVNTDESC 'RECURRENCE'.
-- OS  = death from any cause.  All censored at intermediate.int_follow_up.censor_date.
-- Subjects whose follow-up ends before their origin are left out (nothing to analyse).
CREATE OR REPLACE MACRO analysis.time_to_event(subjects, progression_code := 'PFS') AS TABLE
WITH subject AS (
    SELECT s.*, f.censor_date, f.censor_source, f.death_date, f.death_cause
    FROM query_table(subjects) AS s
    INNER JOIN intermediate.int_follow_up AS f USING (site_id, patient_id)
),
next_progression AS (
    SELECT s.subject_id, min(g.progression_date) AS progression_date
    FROM subject AS s
    INNER JOIN core.progressions AS g
      ON g.site_id = s.site_id AND g.patient_id = s.patient_id
     AND g.progression_date > s.origin_date AND g.progression_date <= s.censor_date
    GROUP BY s.subject_id
),
endpoint AS (
    SELECT s.*,
           CASE WHEN progression_code IN ('PFS', 'RFS') THEN progression_code
                ELSE error('analysis.time_to_event: progression_code must be PFS or RFS') END AS paramcd,
           CASE progression_code WHEN 'RFS' THEN 'Recurrence-free survival'
                ELSE 'Progression-free survival' END AS param,
           least(n.progression_date, s.death_date) AS event_date,
           CASE WHEN n.progression_date IS NULL OR n.progression_date > s.death_date THEN 'DEATH'
                WHEN progression_code = 'RFS' THEN 'RECURRENCE' ELSE 'PROGRESSION' END AS event_kind
    FROM subject AS s LEFT JOIN next_progression AS n USING (subject_id)
    UNION ALL BY NAME
    SELECT s.*, 'OS' AS paramcd, 'Overall survival' AS param,
           s.death_date AS event_date, 'DEATH' AS event_kind
    FROM subject AS s
)
SELECT
    * EXCLUDE (event_date, event_kind, censor_date, censor_source, death_date, death_cause),
    origin_date                                         AS startdt,
    coalesce(event_date, censor_date)                   AS adt,
    datediff('day', origin_date, coalesce(event_date, censor_date)) / 30.4375 AS aval,
    CASE WHEN event_date IS NULL THEN 1 ELSE 0 END      AS cnsr,
    CASE WHEN event_date IS NOT NULL THEN event_kind
         WHEN censor_source = 'DATA_CUTOFF' THEN 'CENSORED AT DATA CUT-OFF'
         ELSE 'CENSORED AT LAST CONTACT' END            AS evntdesc,
    CASE WHEN event_date IS NULL THEN censor_source
         WHEN event_kind <> 'DEATH' THEN 'PROGRESSIONS.PROGRESSION_DATE'
         ELSE 'PATIENTS.DEATH_DATE' END                 AS srcdom,
    CASE WHEN event_date IS NULL THEN 0
         WHEN event_kind <> 'DEATH' OR paramcd = 'OS' AND death_cause = 'gist' THEN 1
         WHEN paramcd <> 'OS' OR death_cause IN ('treatment', 'other') THEN 2
         ELSE 3 END                                     AS cause,
    CASE WHEN event_date IS NULL THEN NULL
         WHEN event_kind <> 'DEATH' THEN event_kind
         WHEN paramcd <> 'OS' THEN 'DEATH BEFORE ' || CASE paramcd WHEN 'RFS' THEN 'RECURRENCE' ELSE 'PROGRESSION' END
         WHEN death_cause = 'gist' THEN 'DEATH FROM GIST'
         WHEN death_cause IN ('treatment', 'other') THEN 'DEATH FROM OTHER CAUSE'
         ELSE 'DEATH OF UNKNOWN CAUSE' END              AS causedesc
FROM endpoint
WHERE coalesce(event_date, censor_date) >= origin_date;
