-- Small-count suppression, shared by every results view.
-- A count from 1 to results.min_cell_count() - 1 could identify a patient, so the views publish
-- it as NULL (the report prints "<k").  Zero and counts at or above the threshold are shown.
-- The threshold is GIST_MIN_CELL_COUNT (default 5), defined by pipelines/sql_models.py.
--   results.is_small(n) : true when n must not be published
--   results.suppress(n) : n, or NULL when it is small
--   results.finite(x)   : x, or NULL for NaN / infinity (an estimate that does not exist, e.g. an
--                         upper confidence limit that is never reached)
CREATE OR REPLACE MACRO results.is_small(n) AS coalesce(n > 0 AND n < results.min_cell_count(), false);
CREATE OR REPLACE MACRO results.suppress(n) AS CASE WHEN results.is_small(n) THEN NULL ELSE n END;
CREATE OR REPLACE MACRO results.finite(x) AS CASE WHEN isfinite(x) THEN x END;
