-- grain: one patient (patient_id).
-- intermediate.int_patient_characteristics: one row per patient; the baseline characteristics every
-- analysis frame carries (for its "Table 1" and its multivariable Cox covariates).
--   mutation_class      : kit_exon11 / kit_exon9 / kit_other (other KIT exons) / pdgfra /
--                         wild_type (KIT/PDGFRA wild type: wild type, SDH-deficient, NF1, BRAF) / not_tested /
--                         unknown (the site does not know whether or with what result: counted, never merged)
--   kit_exon11          : KIT exon 11 mutation (false for every other class, NULL when not tested or unknown)
--   log2_tumour_count   : log2 of the tumour count at the start of advanced treatment (HR per doubling)
--   log2_largest_tumour : log2 of the largest tumour size in mm (HR per doubling)
--   multifocal_disease  : more than one tumour at the start of advanced treatment
--   prior_primary_resection : the primary tumour was resected before advanced disease (prior therapy)
--   ecog_advanced, metastasis_liver, metastasis_peritoneum, peritoneal_lesions, metastasis_other : as recorded
--   nih_modified_risk, afip_risk : the derived risk class of the primary (intermediate.int_risk_classification)
CREATE OR REPLACE VIEW intermediate.int_patient_characteristics AS
SELECT
    p.site_id,
    p.patient_id,
    p.sex,
    p.birth_year,
    p.primary_site,
    CASE WHEN p.mutation_gene = 'KIT' AND p.mutation_exon = 11 THEN 'kit_exon11'
         WHEN p.mutation_gene = 'KIT' AND p.mutation_exon = 9 THEN 'kit_exon9'
         WHEN p.mutation_gene = 'KIT' THEN 'kit_other'
         WHEN p.mutation_gene = 'PDGFRA' THEN 'pdgfra'
         WHEN p.mutation_gene IN ('wild_type', 'SDH_deficient', 'NF1_associated', 'BRAF') THEN 'wild_type'
         WHEN p.mutation_gene = 'not_tested' THEN 'not_tested'
         ELSE 'unknown' END                                             AS mutation_class,
    CASE WHEN p.mutation_gene NOT IN ('not_tested', 'unknown')
         THEN p.mutation_gene = 'KIT' AND coalesce(p.mutation_exon = 11, false) END AS kit_exon11,
    p.tumour_count,
    log2(p.tumour_count)                                                AS log2_tumour_count,
    p.largest_tumour_mm,
    log2(p.largest_tumour_mm)                                           AS log2_largest_tumour,
    p.tumour_count > 1                                                  AS multifocal_disease,
    exists(SELECT 1 FROM core.surgeries AS s
            WHERE s.site_id = p.site_id AND s.patient_id = p.patient_id
              AND s.intent = 'primary_resection'
              AND s.surgery_date < coalesce(p.advanced_disease_date, DATE '9999-12-31')) AS prior_primary_resection,
    p.ecog_advanced,
    p.metastasis_liver,
    p.metastasis_peritoneum,
    p.peritoneal_lesions,
    p.metastasis_other,
    r.nih_modified_risk,
    r.afip_risk
FROM core.patients AS p
INNER JOIN intermediate.int_risk_classification AS r USING (site_id, patient_id);
