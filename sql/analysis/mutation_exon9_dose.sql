-- analysis.mutation_exon9_dose: the KIT exon 9 subgroup of analysis.mutation by starting dose of
-- imatinib, 400 vs 800 mg (seed 002: 800 mg may be appropriate for exon 9).
-- Grain: one patient.  Origin: the start of imatinib.  Groups: imatinib_400 / imatinib_800
-- (any other starting dose is labelled other_dose and left out by the catalogue).
-- Runs after mutation.sql (file name order), whose subjects view it filters.
CREATE OR REPLACE VIEW analysis.mutation_exon9_dose_subjects AS
SELECT * REPLACE (CASE starting_dose_mg WHEN 400 THEN 'imatinib_400' WHEN 800 THEN 'imatinib_800'
                       ELSE 'other_dose' END AS group_label)
FROM analysis.mutation_subjects
WHERE group_label = 'kit_exon9';

CREATE OR REPLACE TABLE analysis.mutation_exon9_dose AS  -- a table: every analysis reads it several times
SELECT * FROM analysis.time_to_event('analysis.mutation_exon9_dose_subjects');
