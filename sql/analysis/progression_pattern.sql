-- analysis.progression_pattern: patients whose disease first progressed on first-line
-- imatinib, by the pattern of that progression (seed 004: focal vs generalised).
-- Grain: one patient.  Origin: the date of the first progression on imatinib.
-- Groups: focal vs multifocal (generalised).  PFS here is progression after salvage.
-- Covariates: sex, KIT exon 11 mutation, tumour count at start of advanced treatment.
CREATE OR REPLACE VIEW analysis.progression_pattern_subjects AS
SELECT
    g.patient_id                   AS subject_id,
    g.site_id,
    g.patient_id,
    g.pattern                      AS group_label,
    g.progression_date             AS origin_date,
    p.sex,
    (p.mutation_gene = 'KIT' AND p.mutation_exon = 11) AS kit_exon11,
    p.tumour_count
FROM core.int_progression_context AS g
JOIN core.patients AS p USING (site_id, patient_id)
WHERE g.ordinal = 1
  AND g.tki_line = 1
  AND g.tki_agent = 'imatinib';

CREATE OR REPLACE VIEW analysis.progression_pattern AS
SELECT * FROM analysis.time_to_event('analysis.progression_pattern_subjects');
