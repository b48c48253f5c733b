"""Controlled vocabularies of the canonical registry contract, defined once.

Every code list a site extract is mapped onto lives here; the pandera models,
the site profiles, the fixtures generator and the generated data dictionary all
read these tuples, so a new code is added in exactly one place.
"""

SEX = ("male", "female")
PRIMARY_SITE = ("stomach", "duodenum", "small_bowel", "colorectum", "oesophagus", "extra_gi")
MUTATION_GENE = ("KIT", "PDGFRA", "SDH_deficient", "NF1_associated", "BRAF", "wild_type", "not_tested")
PRESENTING_SYMPTOM = ("gi_bleeding", "obstruction", "incidental", "other")
VITAL_STATUS = ("alive", "dead")
DEATH_CAUSE = ("gist", "treatment", "other", "unknown")

TKI_AGENT = ("imatinib", "sunitinib", "regorafenib", "ripretinib", "avapritinib", "other")
TKI_END_REASON = ("progression", "toxicity", "planned_interruption", "surgery", "death", "ongoing", "other")
RECIST_RESPONSE = ("CR", "PR", "SD", "PD", "NE")

SURGERY_INTENT = ("primary_resection", "cytoreductive", "salvage", "emergency")
DISEASE_STATUS_AT_SURGERY = ("responsive", "stable", "focal_progression", "multifocal_progression")
RESECTION = ("R0", "R1", "R2")
CLAVIEN_DINDO = ("0", "I", "II", "IIIa", "IIIb", "IVa", "IVb", "V")

PROGRESSION_PATTERN = ("focal", "multifocal")

# Relative times (durations from a per-patient anchor instead of calendar dates) and samples.
TIME_ANCHOR = ("diagnosis", "advanced_disease", "first_tki", "sequencing", "unknown")
TIME_UNIT = ("days", "months")
SAMPLE_TYPE = ("primary", "metastasis", "recurrence")
SPECIMEN_TYPE = ("resection", "biopsy")

# Daily doses (mg) a registrar may plausibly record per agent; outside is an error.
DOSE_RANGE_MG = {
    "imatinib": (100, 800),
    "sunitinib": (12.5, 50),
    "regorafenib": (40, 160),
    "ripretinib": (50, 300),
    "avapritinib": (100, 400),
    "other": (0.1, 2000),
}
