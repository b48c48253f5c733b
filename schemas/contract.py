"""The canonical registry contract as pandera (polars) models.

These models are the single source of truth: the site-profile mapper types
columns from them, validation runs them, and ``docs/data-dictionary.md`` is
generated from them (``python -m schemas.dictionary``).  Field metadata carries
what pandera itself has no slot for: the unit and the contract meaning.

Row-level rules live here.  Rules that need other rows or other tables
(overlapping TKI episodes, dates across tables) live in ``schemas.crosschecks``.
"""

from __future__ import annotations

import datetime as dt
from typing import Optional

import pandera.polars as pa
import polars as pl

from schemas import vocabularies as V

EARLIEST_DATE = dt.date(1950, 1, 1)


def _field(description: str, *, unit: str | None = None, nullable: bool = False, **checks) -> object:
    """A pandera Field whose metadata the data dictionary reads."""
    return pa.Field(nullable=nullable, description=description, metadata={"unit": unit}, coerce=False, **checks)


def _date(description: str, *, nullable: bool = False) -> object:
    return _field(description, unit="date", nullable=nullable, ge=EARLIEST_DATE)


def _duration(description: str) -> object:
    """A time from the patient's anchor in the patient's ``time_unit``, as sent (never rounded through a date)."""
    return _field(description, unit="time_unit", nullable=True, ge=0, le=40000)


def _anchor(description: str) -> object:
    """What time 0 of some of the patient's times is (one of the anchors a profile may state)."""
    return _field(description, nullable=True, isin=V.TIME_ANCHOR)


def _rule(check_id: str, message: str):
    """A row-level rule across columns; ``check_id`` is stable and ``message`` is for the registrar."""
    return pa.dataframe_check(name=check_id, error=message)


def _holds(data, condition: pl.Expr) -> pl.LazyFrame:
    """Rows where a rule's columns are empty pass: emptiness is the fields' own business."""
    return data.lazyframe.select(condition.fill_null(True))


def _no_future_dates(data, columns: list[str]) -> pl.LazyFrame:
    today = dt.date.today()
    return _holds(data, pl.all_horizontal([pl.col(c).is_null() | (pl.col(c) <= today) for c in columns]))


class Patients(pa.DataFrameModel):
    """One row per patient: demographics, tumour, mutation and follow-up."""

    patient_id: str = _field("Site-local patient id as sent; replaced by its keyed hash (HMAC-SHA-256) before storage.")
    sex: str = _field("Sex.", isin=V.SEX)
    birth_year: Optional[int] = _field(
        "Year of birth; empty when the registry does not know it (age is then unknown, counted as such).",
        unit="year",
        nullable=True,
        ge=1900,
        le=2100,
    )
    diagnosis_date: Optional[dt.date] = _date(
        "Date of histological diagnosis of GIST; may be empty when the site sends times from an anchor instead.",
        nullable=True,
    )
    primary_site: Optional[str] = _field(
        "Site of the primary tumour ('not_specified' where the registry records it as not determinable; empty: not "
        "recorded).",
        nullable=True,
        isin=V.PRIMARY_SITE,
    )
    primary_size_mm: Optional[float] = _field(
        "Largest diameter of the primary tumour.", unit="mm", nullable=True, gt=0, le=500
    )
    mitotic_rate: Optional[float] = _field(
        "Mitotic count of the primary tumour, over mitotic_denominator (per 5 mm² when that is empty; 50 high-power "
        "fields are taken as 5 mm²).",
        unit="per 5 mm²",
        nullable=True,
        ge=0,
        le=500,
    )
    rupture: Optional[bool] = _field("Tumour rupture before or during surgery of the primary.", nullable=True)
    mutation_gene: Optional[str] = _field(
        "Driver gene or molecular class ('not_tested': no test done; 'unknown': whether or with what result is not "
        "known; empty: the site does not send it, never made up).",
        nullable=True,
        isin=V.MUTATION_GENE,
    )
    mutation_exon: Optional[int] = _field(
        "Exon of the driver mutation (KIT 9/11/13/17, PDGFRA 12/14/18).", nullable=True, ge=1, le=30
    )
    mutation_detail: Optional[str] = _field("Mutation detail as reported, e.g. D842V or a deletion.", nullable=True)
    nf1_syndrome: Optional[bool] = _field("Neurofibromatosis type 1 syndrome.", nullable=True)
    presenting_symptom: Optional[str] = _field("How the tumour presented.", nullable=True, isin=V.PRESENTING_SYMPTOM)
    advanced_disease_date: Optional[dt.date] = _date(
        "Date metastatic or recurrent disease was diagnosed.", nullable=True
    )
    tumour_count: Optional[int] = _field(
        "Number of tumours at the start of treatment for advanced disease.", unit="lesions", nullable=True, ge=1, le=200
    )
    largest_tumour_mm: Optional[float] = _field(
        "Largest tumour diameter at the start of treatment for advanced disease.",
        unit="mm",
        nullable=True,
        gt=0,
        le=500,
    )
    last_contact_date: Optional[dt.date] = _date(
        "Date the patient was last known alive (or date of death); a patient sent in relative times has "
        "last_contact_time instead.",
        nullable=True,
    )
    vital_status: str = _field("Vital status at last contact.", isin=V.VITAL_STATUS)
    death_date: Optional[dt.date] = _date("Date of death.", nullable=True)
    death_cause: Optional[str] = _field(
        "Cause of death (analyses group it as dead of disease: gist; of other cause: treatment, other; of unknown "
        "cause: unknown or empty).",
        nullable=True,
        isin=V.DEATH_CAUSE,
    )
    # Items real GIST registries record (optional: drops without them stay valid).
    mitotic_denominator: Optional[str] = _field(
        "What mitotic_rate was counted over, as the pathologist reported it.", nullable=True, isin=V.MITOTIC_DENOMINATOR
    )
    mitotic_specimen: Optional[str] = _field(
        "Specimen the mitotic count was made on (a biopsy undercounts: no risk class is derived from it).",
        nullable=True,
        isin=V.SPECIMEN,
    )
    ecog_advanced: Optional[int] = _field(
        "ECOG performance status at the start of treatment for advanced disease.",
        unit="ECOG",
        nullable=True,
        ge=V.ECOG_MIN,
        le=V.ECOG_MAX,
    )
    metastasis_liver: Optional[bool] = _field("Liver metastases at advanced disease.", nullable=True)
    metastasis_peritoneum: Optional[bool] = _field("Peritoneal metastases at advanced disease.", nullable=True)
    peritoneal_lesions: Optional[int] = _field(
        "Number of peritoneal lesions at advanced disease.", unit="lesions", nullable=True, ge=1, le=200
    )
    metastasis_other: Optional[bool] = _field(
        "Metastases at advanced disease outside the liver and peritoneum.", nullable=True
    )
    lost_to_follow_up: Optional[bool] = _field(
        "Follow-up ended because the patient was lost (last_contact_date is then the last time known alive).",
        nullable=True,
    )
    # --- relative times: durations from a per-patient anchor, as sent (docs/site-profiles.md, "Relative times")
    time_anchor: Optional[str] = _anchor(
        "What time 0 of this patient's *_time columns is (the profile's anchor, or its code list); the reported "
        "endpoints have their own (pfs_anchor, dfs_anchor)."
    )
    time_unit: Optional[str] = _field(
        "Unit of this patient's *_time columns as the profile states it (a month is 30.4375 days).",
        nullable=True,
        isin=V.TIME_UNIT,
    )
    last_contact_time: Optional[float] = _duration(
        "Time from the anchor to last contact (or death), in time_unit, exactly as sent (cBioPortal OS_MONTHS).",
    )
    death_time: Optional[float] = _duration(
        "Time from the anchor to death, in time_unit, as sent; for a dead patient without it, last_contact_time "
        "is the time of death.",
    )
    times_exported_on: Optional[dt.date] = _date(
        "The site's export date (profile relative_times.export_date): the data cut-off of relative times.",
        nullable=True,
    )
    # --- reported endpoints: a time with its status, each from its own anchor, as sent (docs/statistics.md,
    # "Reported endpoints"); never put on the registry's time axis nor turned into progression rows
    pfs_time: Optional[float] = _duration(
        "Progression-free survival as the site reports it (cBioPortal PFS_MONTHS), in time_unit from pfs_anchor.",
    )
    pfs_event: Optional[bool] = _field(
        "Whether pfs_time ends in progression (cBioPortal PFS_STATUS 1:...) rather than censoring (0:...).",
        nullable=True,
    )
    pfs_anchor: Optional[str] = _anchor(
        "What time 0 of pfs_time is, as the profile states it ('unknown': cBioPortal's 'since treatment' names no "
        "treatment); empty where the patient has no reported PFS.",
    )
    dfs_time: Optional[float] = _duration(
        "Disease-free survival as the site reports it (cBioPortal DFS_MONTHS), in time_unit from dfs_anchor.",
    )
    dfs_event: Optional[bool] = _field(
        "Whether dfs_time ends in recurrence or progression (cBioPortal DFS_STATUS 1:Recurred/Progressed) rather "
        "than censoring (0:DiseaseFree).",
        nullable=True,
    )
    dfs_anchor: Optional[str] = _anchor(
        "What time 0 of dfs_time is, as the profile states it ('unknown': cBioPortal's 'since treatment' names no "
        "treatment); empty where the patient has no reported DFS.",
    )

    @_rule("plausibility.advanced_before_diagnosis", "advanced_disease_date is before diagnosis_date")
    def _advanced_after_diagnosis(cls, data) -> pl.LazyFrame:
        return _holds(data, pl.col("advanced_disease_date") >= pl.col("diagnosis_date"))

    @_rule("plausibility.contact_before_diagnosis", "last_contact_date is before diagnosis_date")
    def _contact_after_diagnosis(cls, data) -> pl.LazyFrame:
        return _holds(data, pl.col("last_contact_date") >= pl.col("diagnosis_date"))

    @_rule("plausibility.death_before_diagnosis", "death_date is before diagnosis_date")
    def _death_after_diagnosis(cls, data) -> pl.LazyFrame:
        return _holds(data, pl.col("death_date") >= pl.col("diagnosis_date"))

    @_rule("plausibility.contact_after_death", "last_contact_date is after death_date")
    def _contact_not_after_death(cls, data) -> pl.LazyFrame:
        return _holds(data, pl.col("last_contact_date") <= pl.col("death_date"))

    @_rule(
        "conformance.vital_status_death_date",
        "vital_status 'dead' needs a death_date, and a death_date needs vital_status 'dead'",
    )
    def _vital_status_consistent(cls, data) -> pl.LazyFrame:
        dated = pl.col("last_contact_time").is_null()  # in relative times the last contact of the dead is the death
        return _holds(data, ~dated | ((pl.col("vital_status") == "dead") == pl.col("death_date").is_not_null()))

    @_rule("completeness.required_last_contact", "a patient needs last_contact_date or last_contact_time")
    def _last_contact_present(cls, data) -> pl.LazyFrame:
        return _holds(data, pl.col("last_contact_date").is_not_null() | pl.col("last_contact_time").is_not_null())

    @_rule("completeness.required_diagnosis", "a patient needs diagnosis_date, or times relative to an anchor")
    def _diagnosis_present(cls, data) -> pl.LazyFrame:
        return _holds(data, pl.col("diagnosis_date").is_not_null() | pl.col("time_anchor").is_not_null())

    @_rule("conformance.time_without_anchor", "a *_time value needs the patient's time_anchor and time_unit")
    def _times_anchored(cls, data) -> pl.LazyFrame:
        timed = pl.col("last_contact_time").is_not_null() | pl.col("death_time").is_not_null()
        return _holds(data, ~timed | (pl.col("time_anchor").is_not_null() & pl.col("time_unit").is_not_null()))

    @_rule(
        "conformance.endpoint_without_anchor",
        "a reported endpoint (pfs_time, dfs_time) needs its anchor (pfs_anchor, dfs_anchor) and the patient's time_unit",
    )
    def _endpoints_anchored(cls, data) -> pl.LazyFrame:
        anchored = [
            pl.col(f"{e}_time").is_null() | (pl.col(f"{e}_anchor").is_not_null() & pl.col("time_unit").is_not_null())
            for e in V.REPORTED_ENDPOINTS
        ]
        return data.lazyframe.select(pl.all_horizontal(anchored))

    @_rule("plausibility.contact_time_after_death", "last_contact_time is after death_time")
    def _contact_time_not_after_death(cls, data) -> pl.LazyFrame:
        return _holds(data, pl.col("last_contact_time") <= pl.col("death_time"))

    @_rule("conformance.death_time_alive", "a death_time needs vital_status 'dead'")
    def _death_time_dead(cls, data) -> pl.LazyFrame:
        return _holds(data, pl.col("death_time").is_null() | (pl.col("vital_status") == "dead"))

    @_rule("plausibility.age_at_diagnosis", "age at diagnosis (from birth_year) is not between 0 and 110 years")
    def _age_at_diagnosis(cls, data) -> pl.LazyFrame:
        return _holds(data, (pl.col("diagnosis_date").dt.year() - pl.col("birth_year")).is_between(0, 110))

    @_rule("plausibility.future_date", "a date lies in the future")
    def _dates_not_in_future(cls, data) -> pl.LazyFrame:
        return _no_future_dates(data, ["diagnosis_date", "advanced_disease_date", "last_contact_date", "death_date"])

    @_rule(
        "conformance.mitotic_detail_without_count",
        "mitotic_denominator or mitotic_specimen is given without a mitotic_rate",
    )
    def _mitotic_detail_needs_count(cls, data) -> pl.LazyFrame:
        detail = pl.col("mitotic_denominator").is_not_null() | pl.col("mitotic_specimen").is_not_null()
        return data.lazyframe.select(~detail | pl.col("mitotic_rate").is_not_null())

    @_rule(
        "conformance.peritoneal_lesions_without_peritoneum",
        "peritoneal_lesions is given but metastasis_peritoneum is not 'yes'",
    )
    def _peritoneal_count_needs_site(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select(
            pl.col("peritoneal_lesions").is_null() | pl.col("metastasis_peritoneum").fill_null(False)
        )

    @_rule("conformance.lost_to_follow_up_but_dead", "lost_to_follow_up is 'yes' but the patient is dead")
    def _lost_alive(cls, data) -> pl.LazyFrame:
        return _holds(data, ~(pl.col("lost_to_follow_up") & (pl.col("vital_status") == "dead")))

    @_rule("conformance.death_cause_without_death", "death_cause is given but the patient is not dead")
    def _cause_needs_death(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select(
            pl.col("death_cause").is_null() | (pl.col("vital_status") == "dead").fill_null(True)
        )

    class Config:
        strict = False


class TkiEpisodes(pa.DataFrameModel):
    """One row per continuous course of one TKI at one dose; a dose change starts a new episode in the same line."""

    patient_id: str = _field("Site-local patient id (pseudonymised on load).")
    line: int = _field("Line of therapy for advanced disease, from 1.", unit="line", ge=1, le=10)
    agent: str = _field("Tyrosine kinase inhibitor.", isin=V.TKI_AGENT)
    daily_dose_mg: float = _field("Total daily dose.", unit="mg/day", gt=0, le=2000)
    start_date: dt.date = _date("First day of the episode.")
    end_date: Optional[dt.date] = _date("Last day of the episode; empty while ongoing.", nullable=True)
    end_reason: str = _field("Why the episode ended ('ongoing' while it has not).", isin=V.TKI_END_REASON)
    best_response: Optional[str] = _field(
        "Best RECIST response during the episode.", nullable=True, isin=V.RECIST_RESPONSE
    )
    # Items real GIST registries record (optional: drops without them stay valid).
    setting: Optional[str] = _field(
        "Treatment setting: neoadjuvant / adjuvant (around the primary's resection) or advanced disease; empty: "
        "advanced (line counts lines of that setting).",
        nullable=True,
        isin=V.TKI_SETTING,
    )
    dose_change: Optional[str] = _field(
        "How this episode's dose relates to the previous episode of the line: start (first episode), escalation, "
        "reduction (toxicity), same_dose (resumed).",
        nullable=True,
        isin=V.DOSE_CHANGE,
    )

    @_rule("plausibility.episode_ends_before_start", "end_date is before start_date")
    def _end_after_start(cls, data) -> pl.LazyFrame:
        return _holds(data, pl.col("end_date") >= pl.col("start_date"))

    @_rule(
        "conformance.ongoing_without_end",
        "end_reason 'ongoing' goes with an empty end_date, and an empty end_date with 'ongoing'",
    )
    def _ongoing_consistent(cls, data) -> pl.LazyFrame:
        return _holds(data, (pl.col("end_reason") == "ongoing") == pl.col("end_date").is_null())

    @_rule("plausibility.dose_for_agent", "daily_dose_mg is implausible for the agent")
    def _dose_plausible(cls, data) -> pl.LazyFrame:
        low = pl.col("agent").replace_strict(
            {a: float(r[0]) for a, r in V.DOSE_RANGE_MG.items()}, default=None, return_dtype=pl.Float64
        )
        high = pl.col("agent").replace_strict(
            {a: float(r[1]) for a, r in V.DOSE_RANGE_MG.items()}, default=None, return_dtype=pl.Float64
        )
        return _holds(data, pl.col("daily_dose_mg").is_between(low, high))

    @_rule("plausibility.future_date", "a date lies in the future")
    def _dates_not_in_future(cls, data) -> pl.LazyFrame:
        return _no_future_dates(data, ["start_date", "end_date"])

    class Config:
        strict = False


class Surgeries(pa.DataFrameModel):
    """One row per operation."""

    patient_id: str = _field("Site-local patient id (pseudonymised on load).")
    surgery_date: dt.date = _date("Date of the operation.")
    intent: str = _field("Intent of the operation.", isin=V.SURGERY_INTENT)
    disease_status: Optional[str] = _field(
        "Radiological disease status on TKI just before surgery.", nullable=True, isin=V.DISEASE_STATUS_AT_SURGERY
    )
    resection: Optional[str] = _field("Completeness of resection.", nullable=True, isin=V.RESECTION)
    lesions_resected: Optional[int] = _field("Number of lesions resected.", unit="lesions", nullable=True, ge=0, le=200)
    largest_lesion_mm: Optional[float] = _field("Largest resected lesion.", unit="mm", nullable=True, gt=0, le=500)
    tki_continued: Optional[bool] = _field("Whether the TKI was resumed/continued after surgery.", nullable=True)
    clavien_dindo: Optional[str] = _field(
        "Worst post-operative complication grade (Clavien-Dindo).", nullable=True, isin=V.CLAVIEN_DINDO
    )

    @_rule("plausibility.future_date", "a date lies in the future")
    def _dates_not_in_future(cls, data) -> pl.LazyFrame:
        return _no_future_dates(data, ["surgery_date"])

    class Config:
        strict = False


class Progressions(pa.DataFrameModel):
    """One row per documented radiological progression."""

    patient_id: str = _field("Site-local patient id (pseudonymised on load).")
    progression_date: dt.date = _date("Date of the imaging that showed progression.")
    pattern: str = _field(
        "Focal (one or few lesions progress, others controlled) or multifocal/generalised.", isin=V.PROGRESSION_PATTERN
    )
    progressing_lesions: Optional[int] = _field(
        "Number of progressing lesions.", unit="lesions", nullable=True, ge=1, le=200
    )
    secondary_mutation: Optional[str] = _field(
        "Secondary mutation found in the progressing lesion, if tested.", nullable=True
    )

    @_rule("plausibility.future_date", "a date lies in the future")
    def _dates_not_in_future(cls, data) -> pl.LazyFrame:
        return _no_future_dates(data, ["progression_date"])

    class Config:
        strict = False


class Responses(pa.DataFrameModel):
    """One row per response assessment on imaging (optional table)."""

    patient_id: str = _field("Site-local patient id (pseudonymised on load).")
    assessment_date: dt.date = _date("Date of the imaging assessed.")
    criteria: str = _field("Response criteria applied.", isin=V.RESPONSE_CRITERIA)
    response: str = _field("Response under those criteria.", isin=V.RECIST_RESPONSE)
    modality: Optional[str] = _field("Imaging modality.", nullable=True, isin=V.IMAGING_MODALITY)

    @_rule("plausibility.future_date", "a date lies in the future")
    def _dates_not_in_future(cls, data) -> pl.LazyFrame:
        return _no_future_dates(data, ["assessment_date"])


class Samples(pa.DataFrameModel):
    """One row per tumour sample (a cBioPortal sample): its type, site, specimen and assay."""

    patient_id: str = _field("Site-local patient id (pseudonymised on load).")
    sample_id: str = _field("Site-local sample id, as sent (a tissue sample's id, not a person's).")
    sample_type: Optional[str] = _field("Primary tumour, metastasis or recurrence.", nullable=True, isin=V.SAMPLE_TYPE)
    sample_site: Optional[str] = _field("Where the sample was taken, as reported (e.g. liver).", nullable=True)
    sample_date: Optional[dt.date] = _date("Date the sample was taken.", nullable=True)
    sample_time: Optional[float] = _duration(
        "Time from the patient's anchor to the sample, in the patient's time_unit, as sent.",
    )
    specimen_type: Optional[str] = _field("Resection or biopsy.", nullable=True, isin=V.SPECIMEN)
    assay: Optional[str] = _field("Assay or sequencing panel, as reported.", nullable=True)

    @_rule("plausibility.future_date", "a date lies in the future")
    def _dates_not_in_future(cls, data) -> pl.LazyFrame:
        return _no_future_dates(data, ["sample_date"])

    class Config:
        strict = False


# rules (row or cross-table) on a column that may hold a value the mapping could not type (then the column's own
# finding is the reason)
RULE_COLUMNS = {
    "completeness.required_diagnosis": ("diagnosis_date",),
    "completeness.required_last_contact": ("last_contact_date", "last_contact_time"),
    "conformance.endpoint_without_anchor": tuple(f"{e}_anchor" for e in V.REPORTED_ENDPOINTS),
    # a reported endpoint's time without its status (or the reverse): where the other could not be typed, its own
    # finding says why (schemas.crosschecks)
    **{f"completeness.{e}_time_without_status": (f"{e}_event",) for e in V.REPORTED_ENDPOINTS},
    **{f"completeness.{e}_status_without_time": (f"{e}_time",) for e in V.REPORTED_ENDPOINTS},
}

CONTRACT: dict[str, type[pa.DataFrameModel]] = {
    "patients": Patients,
    "tki_episodes": TkiEpisodes,
    "surgeries": Surgeries,
    "progressions": Progressions,
    "responses": Responses,
    "samples": Samples,
}


def polars_schema(table: str) -> dict[str, pl.DataType]:
    """Column name -> polars dtype of one contract table, in contract order."""
    schema = CONTRACT[table].to_schema()
    return {name: column.dtype.type for name, column in schema.columns.items()}
