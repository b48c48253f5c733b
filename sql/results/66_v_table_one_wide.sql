-- grain: one analysis, variable and level.
-- published.v_table_one_wide: Table 1 as a paper prints it, one row per characteristic (and level), one column
-- per group, from published.v_table_one (so withheld cells stay withheld).  The group columns are the
-- catalogue's group codes (sql/analysis/catalogue.yaml; a test checks each has its column): an analysis fills
-- its own groups' columns, the others are NULL.  A cell reads "median (q1–q3)" (continuous), "count (percent%)"
-- (categorical) or "count" (units), "supp." where withheld.  Query one analysis at a time, e.g.
--   SELECT variable, level, imatinib_alone, surgery, all_groups, smd_max FROM published.v_table_one_wide
--   WHERE analysis_id = 'surgery_after_imatinib'
-- Columns
--   analysis_id        : the catalogue analysis
--   variable, level    : the characteristic and, for a categorical one, its level (NULL for continuous)
--   kind               : 'continuous', 'categorical', 'unknown' (level '(unknown)') or 'units' (as v_table_one)
--   imatinib_alone, surgery, imatinib, sunitinib : the group's cell as printed (NULL: not a group of the analysis)
--   responsive, stable, focal_progression : the group's cell as printed (NULL: not a group of the analysis)
--   multifocal_progression : the group's cell as printed (NULL: not a group of the analysis)
--   focal, multifocal, continued, stopped : the group's cell as printed (NULL: not a group of the analysis)
--   interruption, kit_exon11, kit_exon9, pdgfra : the group's cell as printed (NULL: not a group of the analysis)
--   wild_type, imatinib_400, imatinib_800 : the group's cell as printed (NULL: not a group of the analysis)
--   all_groups         : the same cell for the analysis's subjects together
--   n_missing          : subjects with the characteristic missing, all groups together; NULL where withheld
--   test, p, smd_max   : the test across groups, its p and the largest standardised mean difference (v_table_one)
CREATE OR REPLACE VIEW published.v_table_one_wide AS
WITH cells AS (
    SELECT
        analysis_id, variable, level, kind, "group", n_missing, test, p, smd_max,
        CASE
            WHEN kind = 'continuous' AND n_suppressed THEN 'n supp.'
            WHEN kind = 'continuous' AND median IS NULL THEN '—'
            WHEN kind = 'continuous' THEN printf('%.1f (%.1f–%.1f)', median, q1, q3)
            WHEN count_suppressed THEN 'supp.'
            WHEN kind = 'units' OR percent IS NULL THEN cast(count AS VARCHAR)
            ELSE printf('%d (%.0f%%)', count, percent)
        END AS cell
    FROM published.v_table_one
)
SELECT
    analysis_id,
    variable,
    level,
    any_value(kind) AS kind,
    max(cell) FILTER (WHERE "group" = 'imatinib_alone') AS imatinib_alone,
    max(cell) FILTER (WHERE "group" = 'surgery') AS surgery,
    max(cell) FILTER (WHERE "group" = 'imatinib') AS imatinib,
    max(cell) FILTER (WHERE "group" = 'sunitinib') AS sunitinib,
    max(cell) FILTER (WHERE "group" = 'responsive') AS responsive,
    max(cell) FILTER (WHERE "group" = 'stable') AS stable,
    max(cell) FILTER (WHERE "group" = 'focal_progression') AS focal_progression,
    max(cell) FILTER (WHERE "group" = 'multifocal_progression') AS multifocal_progression,
    max(cell) FILTER (WHERE "group" = 'focal') AS focal,
    max(cell) FILTER (WHERE "group" = 'multifocal') AS multifocal,
    max(cell) FILTER (WHERE "group" = 'continued') AS continued,
    max(cell) FILTER (WHERE "group" = 'stopped') AS stopped,
    max(cell) FILTER (WHERE "group" = 'interruption') AS interruption,
    max(cell) FILTER (WHERE "group" = 'kit_exon11') AS kit_exon11,
    max(cell) FILTER (WHERE "group" = 'kit_exon9') AS kit_exon9,
    max(cell) FILTER (WHERE "group" = 'pdgfra') AS pdgfra,
    max(cell) FILTER (WHERE "group" = 'wild_type') AS wild_type,
    max(cell) FILTER (WHERE "group" = 'imatinib_400') AS imatinib_400,
    max(cell) FILTER (WHERE "group" = 'imatinib_800') AS imatinib_800,
    max(cell) FILTER (WHERE "group" = '(all)') AS all_groups,
    max(n_missing) FILTER (WHERE "group" = '(all)') AS n_missing,
    any_value(test) AS test,
    any_value(p) AS p,
    any_value(smd_max) AS smd_max
FROM cells
GROUP BY analysis_id, variable, level;
