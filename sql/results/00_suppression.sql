-- grain: none (macros only).
-- Small-count suppression, shared by every results view.
-- What is withheld is decided once per analysis, in Python, before its results are written
-- (pipelines/disclosure.py: primary suppression of counts from 1 to results.min_cell_count() - 1, then
-- complementary suppression, so that no withheld or derived small count follows from published ones by
-- arithmetic within a table or across views).  Each count column <c> of a results table has a
-- boolean <c>_suppressed beside it; the views publish <c> as NULL where it is true, and publish the
-- flag too.  A withheld count is NOT known to be small: it is either a count from 1 to k - 1 or a
-- larger one withheld to protect such a count; print it as "supp.", never as "<k".
-- The threshold is GIST_MIN_CELL_COUNT (default 5), defined by pipelines/sql_models.py.
--   results.is_small(n)               : n from 1 to k - 1
--   results.suppress(n)               : n, or NULL when it is small (primary suppression only: for counts
--                                       no other published number adds up with, e.g. rows per site)
--   results.withheld(n, flag)         : the flag; where it is missing (a table written without it), is_small(n)
--   results.published(n, flag)        : n, or NULL where withheld(n, flag)
--   results.finite(x)                 : x, or NULL for NaN / infinity (an estimate that does not exist, e.g. an
--                                       upper confidence limit that is never reached)
CREATE OR REPLACE MACRO results.is_small(n) AS coalesce(n > 0 AND n < results.min_cell_count(), false);
CREATE OR REPLACE MACRO results.suppress(n) AS CASE WHEN results.is_small(n) THEN NULL ELSE n END;
CREATE OR REPLACE MACRO results.withheld(n, flag) AS coalesce(flag, results.is_small(n));
CREATE OR REPLACE MACRO results.published(n, flag) AS CASE WHEN results.withheld(n, flag) THEN NULL ELSE n END;
CREATE OR REPLACE MACRO results.finite(x) AS CASE WHEN isfinite(x) THEN x END;
