"""Controlled vocabularies of the canonical registry contract, defined once.

Every code list a site extract is mapped onto lives here; the pandera models,
the site profiles, the fixtures generator and the generated data dictionary all
read these tuples, so a new code is added in exactly one place.
"""

SEX = ("male", "female")
# not_specified: the registry records the site as not determinable (ICD-O-3 C26.9, GI tract NOS); empty = not recorded
PRIMARY_SITE = ("stomach", "duodenum", "small_bowel", "colorectum", "oesophagus", "extra_gi", "not_specified")
# not_tested: no molecular test was done; unknown: the registry does not know whether or with what result
MUTATION_GENE = ("KIT", "PDGFRA", "SDH_deficient", "NF1_associated", "BRAF", "wild_type", "not_tested", "unknown")
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
# Endpoints a site reports as a time with its status (cBioPortal PFS_MONTHS/PFS_STATUS, DFS_MONTHS/DFS_STATUS),
# each from its own anchor: kept as sent, never put on the registry's time axis (docs/statistics.md).
REPORTED_ENDPOINTS = ("pfs", "dfs")

# Daily doses (mg) a registrar may plausibly record per agent; outside is an error.
DOSE_RANGE_MG = {
    "imatinib": (100, 800),
    "sunitinib": (12.5, 50),
    "regorafenib": (40, 160),
    "ripretinib": (50, 300),
    "avapritinib": (100, 400),
    "other": (0.1, 2000),
}

# Items real GIST registries record (IDEA4RC sarcoma model, mCODE, the Korean / Polish / Spanish registries).
ECOG_MIN, ECOG_MAX = 0, 4  # ECOG performance status; 5 (dead) is not a status at the start of a treatment
# The denominator a mitotic count was reported over; the registry takes 50 HPF = 5 mm² (docs/risk-classification.md).
MITOTIC_DENOMINATOR = ("per_5mm2", "per_50hpf")
SPECIMEN = ("biopsy", "resection")  # of a mitotic count and of a sample
TKI_SETTING = ("neoadjuvant", "adjuvant", "advanced")
# How an episode's dose relates to the previous episode of the same line and setting.
DOSE_CHANGE = ("start", "escalation", "reduction", "same_dose")
RESPONSE_CRITERIA = ("RECIST_1.1", "Choi")
IMAGING_MODALITY = ("CT", "MRI", "PET_CT", "ultrasound", "other")
# The modalities the Choi criteria (tumour density in Hounsfield units on contrast-enhanced CT) are defined on.
CHOI_MODALITIES = ("CT", "PET_CT")
