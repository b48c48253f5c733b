-- grain: one patient (patient_id).
-- intermediate.int_risk_classification: the risk of recurrence of the primary tumour, derived from what the
-- site recorded (never typed in): modified NIH (Joensuu 2008) and AFIP (Miettinen and Lasota 2006).
-- Convention (docs/risk-classification.md): a mitotic count per 50 HPF is taken as per 5 mm²; a count made on a
-- biopsy is not used (it undercounts); a missing input gives 'unknown', except that the modified NIH class is
-- given where it is the same whatever the missing input is (e.g. a ruptured tumour is high risk).
--   size_mm             : primary_size_mm
--   mitoses_per_5mm2    : mitotic_rate per 5 mm² (or 50 HPF) from a resection or an unstated specimen
--   gastric             : primary in the stomach (NULL when the site is not recorded or not specified)
--   rupture             : tumour rupture as recorded
--   nih_modified_risk   : very_low / low / intermediate / high / unknown (modified NIH, Joensuu 2008)
--   afip_group          : AFIP size and mitoses group 1, 2, 3a, 3b, 4, 5, 6a, 6b (NULL when size or mitoses unknown)
--   afip_risk           : none / very_low / low / moderate / high / insufficient_data (AFIP's own cell),
--                         not_tabulated (oesophagus, extra-GI: outside AFIP's table), unknown
--   risk_inputs_missing : the inputs that were not known, comma-separated (NULL when none)
CREATE OR REPLACE VIEW intermediate.int_risk_classification AS
WITH inputs AS (
    SELECT
        p.site_id,
        p.patient_id,
        p.primary_site,
        p.primary_size_mm                                               AS size_mm,
        CASE WHEN coalesce(p.mitotic_specimen, '') <> 'biopsy' THEN p.mitotic_rate END AS mitoses_per_5mm2,
        p.mitotic_rate IS NOT NULL AND p.mitotic_specimen = 'biopsy'    AS biopsy_count_only,
        CASE WHEN p.primary_site = 'stomach' THEN true
             WHEN p.primary_site IN ('duodenum', 'small_bowel', 'colorectum', 'oesophagus', 'extra_gi') THEN false
        END                                                             AS gastric,
        p.rupture,
        CASE p.primary_site WHEN 'stomach' THEN 'gastric' WHEN 'duodenum' THEN 'duodenum'
             WHEN 'small_bowel' THEN 'jejunum_ileum' WHEN 'colorectum' THEN 'rectum'
             WHEN 'oesophagus' THEN 'not_tabulated' WHEN 'extra_gi' THEN 'not_tabulated' END AS afip_site
    FROM core.patients AS p
),
nih AS (
    -- three-valued logic: a rule is TRUE only when it holds whatever the unknown inputs are
    SELECT
        i.*,
        i.rupture
        OR i.size_mm > 100
        OR i.mitoses_per_5mm2 > 10
        OR (i.size_mm > 50 AND i.mitoses_per_5mm2 > 5)
        OR (i.size_mm > 20 AND i.size_mm <= 50 AND i.mitoses_per_5mm2 > 5 AND NOT i.gastric)
        OR (i.size_mm > 50 AND i.size_mm <= 100 AND i.mitoses_per_5mm2 <= 5 AND NOT i.gastric) AS nih_high,
        NOT i.rupture AND (
            (i.size_mm > 20 AND i.size_mm <= 50 AND i.mitoses_per_5mm2 > 5 AND i.mitoses_per_5mm2 <= 10 AND i.gastric)
            OR (i.size_mm <= 20 AND i.mitoses_per_5mm2 > 5 AND i.mitoses_per_5mm2 <= 10)
            OR (i.size_mm > 50 AND i.size_mm <= 100 AND i.mitoses_per_5mm2 <= 5 AND i.gastric)
        )                                                               AS nih_intermediate,
        NOT i.rupture AND i.size_mm > 20 AND i.size_mm <= 50 AND i.mitoses_per_5mm2 <= 5 AS nih_low,
        NOT i.rupture AND i.size_mm <= 20 AND i.mitoses_per_5mm2 <= 5 AS nih_very_low,
        CASE WHEN i.size_mm IS NOT NULL AND i.mitoses_per_5mm2 IS NOT NULL THEN
            CASE WHEN i.size_mm <= 20 THEN 1 WHEN i.size_mm <= 50 THEN 2 WHEN i.size_mm <= 100 THEN 3 ELSE 4 END
            + CASE WHEN i.mitoses_per_5mm2 > 5 THEN 4 ELSE 0 END
        END                                                             AS afip_cell
    FROM inputs AS i
),
afip (afip_cell, afip_group, gastric, jejunum_ileum, duodenum, rectum) AS (
    -- Miettinen and Lasota 2006, Table: size in cm (<= 2, > 2 <= 5, > 5 <= 10, > 10) by mitoses (<= 5, > 5 per 50 HPF)
    VALUES
    (1, '1', 'none', 'none', 'none', 'none'),
    (2, '2', 'very_low', 'low', 'low', 'low'),
    (3, '3a', 'low', 'moderate', 'insufficient_data', 'insufficient_data'),
    (4, '3b', 'moderate', 'high', 'high', 'high'),
    (5, '4', 'none', 'high', 'insufficient_data', 'high'),
    (6, '5', 'moderate', 'high', 'high', 'high'),
    (7, '6a', 'high', 'high', 'insufficient_data', 'insufficient_data'),
    (8, '6b', 'high', 'high', 'high', 'high')
)
SELECT
    n.site_id,
    n.patient_id,
    n.size_mm,
    n.mitoses_per_5mm2,
    n.gastric,
    n.rupture,
    CASE WHEN n.nih_high THEN 'high' WHEN n.nih_intermediate THEN 'intermediate'
         WHEN n.nih_low THEN 'low' WHEN n.nih_very_low THEN 'very_low' ELSE 'unknown' END AS nih_modified_risk,
    a.afip_group,
    CASE WHEN a.afip_cell IS NULL OR n.afip_site IS NULL THEN 'unknown'
         WHEN n.afip_site = 'not_tabulated' THEN 'not_tabulated'
         WHEN n.afip_site = 'gastric' THEN a.gastric
         WHEN n.afip_site = 'jejunum_ileum' THEN a.jejunum_ileum
         WHEN n.afip_site = 'duodenum' THEN a.duodenum
         ELSE a.rectum END                                              AS afip_risk,
    nullif(concat_ws(', ',
        CASE WHEN n.size_mm IS NULL THEN 'primary_size_mm' END,
        CASE WHEN n.biopsy_count_only THEN 'mitotic_rate (a biopsy count, not used)'
             WHEN n.mitoses_per_5mm2 IS NULL THEN 'mitotic_rate' END,
        CASE WHEN n.gastric IS NULL THEN 'primary_site' END,
        CASE WHEN n.rupture IS NULL THEN 'rupture' END), '')            AS risk_inputs_missing
FROM nih AS n
LEFT JOIN afip AS a ON a.afip_cell = n.afip_cell;
