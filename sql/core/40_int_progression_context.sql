-- grain: one progression.
-- intermediate.int_progression_context: one row per progression, with the line of therapy it occurred on.
-- A progression belongs to the line whose span (start to end + 30 days) contains it; the
-- latest such line wins.
--   ordinal : 1 for the patient's first progression, 2 for the next, ...
CREATE OR REPLACE VIEW intermediate.int_progression_context AS
WITH candidate AS (
    SELECT
        g.site_id, g.patient_id, g.progression_date, g.line_number,
        l.line, l.agent,
        row_number() OVER (PARTITION BY g.site_id, g.line_number ORDER BY l.start_date DESC) AS recency
    FROM core.progressions AS g
    INNER JOIN intermediate.int_tki_lines AS l
      ON l.site_id = g.site_id AND l.patient_id = g.patient_id
     AND l.start_date <= g.progression_date
     AND coalesce(l.end_date, DATE '9999-12-31') + INTERVAL 30 DAY >= g.progression_date
)
SELECT
    g.*,
    c.line  AS tki_line,
    c.agent AS tki_agent,
    row_number() OVER (PARTITION BY g.site_id, g.patient_id ORDER BY g.progression_date, g.line_number) AS ordinal
FROM core.progressions AS g
LEFT JOIN candidate AS c
  ON c.site_id = g.site_id AND c.line_number = g.line_number AND c.recency = 1;
