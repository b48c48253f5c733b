-- grain: one patient and reported endpoint (site_id, patient_id, endpoint).
-- analysis.reported_endpoints: the endpoints a site reports as a time with its status (cBioPortal PFS_MONTHS /
-- PFS_STATUS, DFS_MONTHS / DFS_STATUS), long form, each from its own anchor, as sent. They are not on the
-- registry's time axis (the registry does not know the time from diagnosis to the anchor, e.g. an unnamed
-- "treatment"), so they are never merged with the registry's own PFS / RFS (analysis.time_to_event) nor with OS
-- (docs/statistics.md, "Reported endpoints"); compare only rows with the same anchor.
--   subject_id   : the patient's pseudonym (one subject per patient, as in the patient-level frames)
--   endpoint     : PFS (progression-free survival as reported) or DFS (disease-free survival as reported)
--   anchor       : time 0 of the endpoint as the profile states it (core.patients pfs_anchor / dfs_anchor);
--                  'unknown' where the site did not say (audit.drops row_counts endpoint_anchor_defaults)
--   time_as_sent : the time exactly as sent, in time_unit
--   time_unit    : days or months, the site's unit
--   days         : the time in days (months x 30.4375)
--   months       : the time in months (days / 30.4375), never through a date
--   event        : true: the endpoint's event (progression; recurrence or progression); false: censored
CREATE OR REPLACE VIEW analysis.reported_endpoints AS
WITH long AS (
    SELECT site_id, patient_id, 'PFS' AS endpoint, pfs_anchor AS anchor, pfs_time AS time_as_sent,
           pfs_event AS event, time_unit
    FROM core.patients
    WHERE pfs_time IS NOT NULL
    UNION ALL
    SELECT site_id, patient_id, 'DFS' AS endpoint, dfs_anchor AS anchor, dfs_time AS time_as_sent,
           dfs_event AS event, time_unit
    FROM core.patients
    WHERE dfs_time IS NOT NULL
)

SELECT
    patient_id::VARCHAR AS subject_id,
    site_id,
    patient_id,
    endpoint,
    anchor,
    time_as_sent,
    time_unit,
    CASE time_unit WHEN 'months' THEN time_as_sent * 30.4375 ELSE time_as_sent END AS days,
    CASE time_unit WHEN 'months' THEN time_as_sent ELSE time_as_sent / 30.4375 END AS months,
    event
FROM long;
