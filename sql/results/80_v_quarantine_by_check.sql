-- grain: one site, table and check.
-- published.v_quarantine_by_check: rows held back from core, per site, table and check, for the
-- loaded drop of each site (the registrar's per-drop validation report has the rows themselves).
--   check_id : the stable id of the failed check (docs/validation.md), e.g. conformance.date
--   rows     : quarantined input rows (data-quality counts of records, not patients: not suppressed)
CREATE OR REPLACE VIEW published.v_quarantine_by_check AS
SELECT q.site_id, q.table_name, q.check_id, count(*) AS rows
FROM audit.quarantine AS q
INNER JOIN (SELECT site_id, arg_max(drop_id, received_at) AS drop_id
      FROM audit.drops WHERE status = 'loaded' GROUP BY site_id) AS loaded USING (site_id, drop_id)
GROUP BY ALL
ORDER BY ALL;
