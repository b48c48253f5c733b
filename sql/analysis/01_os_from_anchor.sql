-- grain: one subject (subject_id) with paramcd 'OS', checked in every analysis frame.
-- analysis.os_from_anchor(subjects): overall survival from a patient's anchor, for patients sent with
-- calendar dates and patients sent with times from an anchor alike (docs/site-profiles.md, "Relative times").
-- Input: the name of a view with one row per subject and columns
--   subject_id, site_id, patient_id, group_label, origin_anchor (+ any covariates), where origin_anchor is
--   'diagnosis' or 'advanced_disease' (the time origin).
-- Output: one row per subject, the columns of analysis.time_to_event:
--   paramcd 'OS', param, startdt / adt (the dates; NULL for times from an anchor), aval (months),
--   cnsr, evntdesc, srcdom, cause, causedesc.
-- Dated patients: aval = days from the anchor's date / 30.4375, censored as intermediate.int_follow_up says.
-- Patients sent in times: aval = the months as sent (days / 30.4375), used only when their anchor is the
-- origin (a patient whose times start elsewhere is left out: nothing is shifted by a guess); their
-- cut-off is the site's export date.
CREATE OR REPLACE MACRO analysis.os_from_anchor(subjects) AS TABLE
WITH subject AS (
    SELECT
        s.*,
        f.censor_date,
        f.censor_source,
        f.death_date,
        f.death_cause,
        f.censor_months,
        f.death_months,
        f.time_anchor,
        CASE s.origin_anchor
            WHEN 'diagnosis' THEN p.diagnosis_date
            WHEN 'advanced_disease' THEN p.advanced_disease_date
            ELSE error('analysis.os_from_anchor: origin_anchor must be diagnosis or advanced_disease')
        END AS origin_date
    FROM query_table(subjects) AS s
    INNER JOIN intermediate.int_follow_up AS f USING (site_id, patient_id)
    INNER JOIN core.patients AS p USING (site_id, patient_id)
),

timed AS (
    SELECT
        * EXCLUDE (censor_months, death_months, time_anchor),
        CASE WHEN origin_date IS NOT NULL AND censor_date IS NOT NULL
             THEN datediff('day', origin_date, coalesce(death_date, censor_date)) / 30.4375
             WHEN time_anchor = origin_anchor THEN coalesce(death_months, censor_months) END AS months,
        CASE WHEN origin_date IS NOT NULL AND censor_date IS NOT NULL THEN death_date IS NOT NULL
             ELSE death_months IS NOT NULL END AS died,
        origin_date IS NOT NULL AND censor_date IS NOT NULL AS dated
    FROM subject
)

SELECT
    * EXCLUDE (months, died, dated, censor_date, censor_source, death_date, death_cause),
    'OS'                                                AS paramcd,
    'Overall survival'                                  AS param,
    origin_date                                         AS startdt,
    CASE WHEN dated THEN coalesce(death_date, censor_date) END AS adt,
    months                                              AS aval,
    CASE WHEN died THEN 0 ELSE 1 END                    AS cnsr,
    CASE WHEN died THEN 'DEATH'
         WHEN censor_source = 'DATA_CUTOFF' THEN 'CENSORED AT DATA CUT-OFF'
         ELSE 'CENSORED AT LAST CONTACT' END            AS evntdesc,
    CASE WHEN NOT died THEN censor_source
         WHEN dated THEN 'PATIENTS.DEATH_DATE'
         ELSE 'PATIENTS.LAST_CONTACT_TIME' END          AS srcdom,
    CASE WHEN NOT died THEN 0
         WHEN death_cause = 'gist' THEN 1
         WHEN death_cause IN ('treatment', 'other') THEN 2
         ELSE 3 END                                     AS cause,
    CASE WHEN NOT died THEN NULL
         WHEN death_cause = 'gist' THEN 'DEATH FROM GIST'
         WHEN death_cause IN ('treatment', 'other') THEN 'DEATH FROM OTHER CAUSE'
         ELSE 'DEATH OF UNKNOWN CAUSE' END              AS causedesc
FROM timed
WHERE months >= 0;
