-- grain: one site.
-- published.v_registry_sites: one row per site — what the registry holds for it and the state of
-- its latest drop (from core.* and audit.*).
--   latest_drop_id / latest_status / latest_received_at / latest_message : the site's newest
--       ledger entry ('received', 'loaded', 'rejected' by its data or 'not_processed' for another reason,
--       e.g. no site profile; both keep the previous data)
--   loaded_drop_id   : the drop whose rows are in core now
--   patients, tki_episodes, surgeries, progressions, responses, samples : rows in core; NULL from 1 to k - 1 (primary
--       suppression only: no total over the sites is published, so nothing adds up with them)
--   patients_suppressed, ... : true where that count is withheld (print "supp.")
--   quarantined_rows : input rows of the loaded drop held back in audit.quarantine (records failing a data
--       check, not patients counted by a characteristic: not suppressed)
--   archive_path     : folder of the latest archived drop (raw files and validation report)
CREATE OR REPLACE VIEW published.v_registry_sites AS
WITH latest AS (
    SELECT site_id, drop_id, status, received_at, message
    FROM audit.drops
    QUALIFY row_number() OVER (PARTITION BY site_id ORDER BY received_at DESC) = 1
),
archived AS (
    SELECT site_id, arg_max(archive_path, received_at) AS archive_path
    FROM audit.drops WHERE archive_path IS NOT NULL GROUP BY site_id
),
loaded AS (
    SELECT site_id, arg_max(drop_id, received_at) AS loaded_drop_id
    FROM audit.drops WHERE status = 'loaded' GROUP BY site_id
),
core_rows AS (
    SELECT site_id,
           count(*) FILTER (WHERE tbl = 'patients')     AS patients,
           count(*) FILTER (WHERE tbl = 'tki_episodes') AS tki_episodes,
           count(*) FILTER (WHERE tbl = 'surgeries')    AS surgeries,
           count(*) FILTER (WHERE tbl = 'progressions') AS progressions,
           count(*) FILTER (WHERE tbl = 'responses')    AS responses,
           count(*) FILTER (WHERE tbl = 'samples')      AS samples
    FROM (SELECT site_id, 'patients' AS tbl FROM core.patients
          UNION ALL SELECT site_id, 'tki_episodes' AS tbl FROM core.tki_episodes
          UNION ALL SELECT site_id, 'surgeries' AS tbl FROM core.surgeries
          UNION ALL SELECT site_id, 'progressions' AS tbl FROM core.progressions
          UNION ALL SELECT site_id, 'responses' AS tbl FROM core.responses
          UNION ALL SELECT site_id, 'samples' AS tbl FROM core.samples) AS rows_by_table
    GROUP BY site_id
),
quarantined AS (
    SELECT q.site_id, count(*) AS quarantined_rows
    FROM audit.quarantine AS q INNER JOIN loaded AS l ON q.site_id = l.site_id AND q.drop_id = l.loaded_drop_id
    GROUP BY q.site_id
)
SELECT
    latest.site_id,
    latest.drop_id      AS latest_drop_id,
    latest.status       AS latest_status,
    latest.received_at  AS latest_received_at,
    latest.message      AS latest_message,
    loaded.loaded_drop_id,
    results.suppress(coalesce(core_rows.patients, 0))     AS patients,
    results.suppress(coalesce(core_rows.tki_episodes, 0)) AS tki_episodes,
    results.suppress(coalesce(core_rows.surgeries, 0))    AS surgeries,
    results.suppress(coalesce(core_rows.progressions, 0)) AS progressions,
    results.suppress(coalesce(core_rows.responses, 0))    AS responses,
    results.suppress(coalesce(core_rows.samples, 0))      AS samples,
    coalesce(quarantined.quarantined_rows, 0)             AS quarantined_rows,
    archived.archive_path,
    results.is_small(coalesce(core_rows.patients, 0))     AS patients_suppressed,
    results.is_small(coalesce(core_rows.tki_episodes, 0)) AS tki_episodes_suppressed,
    results.is_small(coalesce(core_rows.surgeries, 0))    AS surgeries_suppressed,
    results.is_small(coalesce(core_rows.progressions, 0)) AS progressions_suppressed,
    results.is_small(coalesce(core_rows.responses, 0))    AS responses_suppressed,
    results.is_small(coalesce(core_rows.samples, 0))      AS samples_suppressed
FROM latest
LEFT JOIN loaded USING (site_id)
LEFT JOIN core_rows USING (site_id)
LEFT JOIN quarantined USING (site_id)
LEFT JOIN archived USING (site_id)
ORDER BY latest.site_id;
