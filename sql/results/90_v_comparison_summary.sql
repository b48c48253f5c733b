-- grain: one analysis, endpoint and compared level of its primary model.
-- published.v_comparison_summary: the answer of each comparison of the catalogue, first: its primary estimate
-- beside the naive one as published, and the checks that qualify it (read from the published views, so every
-- number and withheld count is the one they publish).
--   question             : the catalogue entry's title
--   level, reference     : the compared group (or exposure kind) and the reference it is compared with
--   primary_model        : the estimate to lead with: the catalogue's `primary` model where declared, else the
--                          IPTW-adjusted model where `adjust` is declared, else the multivariable, else the
--                          univariable model (the first of these with an estimate)
--   primary_design       : what that model is (published.v_hazard_ratios.design)
--   hr, hr_lower, hr_upper, p : its hazard ratio with 95% CI and p
--   naive_model          : the unadjusted grouping: 'naive' (exposed at any time vs never: immortal-time biased)
--                          for an entry with an exposure, else 'univariable'
--   naive_hr, naive_lower, naive_upper, naive_p : its hazard ratio for the same level, as published
--   ph_test_p            : the PH test's GLOBAL p of the primary model (of the univariable model where the
--                          primary has none, e.g. IPTW)
--   ph_test_failed       : ph_test_p < 0.05: the hazard ratio averages a ratio that changes over time
--   few_events           : a group with fewer than 10 events in published.v_survival_summary
--   positivity_concern   : IPTW primary only: a weight outside [0.1, 10], or more than 10 % of a group outside
--                          the overlap of the propensity scores (results.iptw_positivity: a flag, no count)
--   counts_withheld      : a count of the comparison withheld by small-count suppression
--   light                : 'red' (PH test failed or positivity concern), 'amber' (few events or counts withheld)
--                          or 'green'
CREATE OR REPLACE VIEW published.v_comparison_summary AS
WITH comparisons AS (
    SELECT
        h.*,
        CASE
            WHEN h.is_primary THEN 1
            WHEN h.source = 'iptw' AND h.model = 'iptw' THEN 2
            WHEN h.source = 'cox' AND h.model = 'multivariable' THEN 3
            WHEN h.source = 'cox' AND h.model = 'univariable' THEN 4
        END AS preference
    FROM published.v_hazard_ratios AS h
    WHERE h.variable IN ('group', 'exposure')
),

primary_models AS (
    SELECT analysis_id, endpoint, arg_min(model, preference) AS model
    FROM comparisons
    WHERE preference IS NOT NULL AND status = 'ok'
    GROUP BY analysis_id, endpoint
),

chosen AS (
    SELECT c.*
    FROM comparisons AS c
    SEMI JOIN primary_models AS m ON m.analysis_id = c.analysis_id AND m.endpoint = c.endpoint AND m.model = c.model
),

naive AS (
    SELECT h.analysis_id, h.endpoint, h.model, h.level, h.hr, h.hr_lower, h.hr_upper, h.p
    FROM published.v_hazard_ratios AS h
    INNER JOIN results.analyses AS a ON a.id = h.analysis_id
    WHERE h.model = CASE WHEN a.exposure IS NULL THEN 'univariable' ELSE 'naive' END AND h.variable = 'group'
),

ph AS (
    SELECT analysis_id, endpoint, model, p FROM published.v_ph_tests WHERE term = 'GLOBAL'
),

groups AS (
    SELECT
        analysis_id,
        endpoint,
        bool_or(few_events)                                                        AS few_events,
        bool_or(n_suppressed OR events_suppressed OR censored_suppressed)          AS counts_withheld
    FROM published.v_survival_summary
    GROUP BY analysis_id, endpoint
),

positivity AS (
    SELECT
        analysis_id,
        endpoint,
        model,
        bool_or(n_extreme_weights > 0 OR n_outside_overlap > 0.1 * n) AS concern
    FROM results.iptw_positivity
    GROUP BY analysis_id, endpoint, model
),

summary AS (
    SELECT
        c.analysis_id,
        c.endpoint,
        a.title                                                    AS question,
        c.level,
        c.reference,
        c.model                                                    AS primary_model,
        c.design                                                   AS primary_design,
        c.hr,
        c.hr_lower,
        c.hr_upper,
        c.p,
        n.model                                                    AS naive_model,
        n.hr                                                       AS naive_hr,
        n.hr_lower                                                 AS naive_lower,
        n.hr_upper                                                 AS naive_upper,
        n.p                                                        AS naive_p,
        coalesce(ph_own.p, ph_univariable.p)                       AS ph_test_p,
        coalesce(coalesce(ph_own.p, ph_univariable.p) < 0.05, false) AS ph_test_failed,
        coalesce(g.few_events, false)                              AS few_events,
        coalesce(pos.concern, false)                               AS positivity_concern,
        coalesce(g.counts_withheld OR c.n_suppressed OR c.events_suppressed, false) AS counts_withheld
    FROM chosen AS c
    INNER JOIN results.analyses AS a ON a.id = c.analysis_id
    LEFT JOIN naive AS n
        ON n.analysis_id = c.analysis_id AND n.endpoint = c.endpoint AND n.level = c.level
    LEFT JOIN ph AS ph_own
        ON ph_own.analysis_id = c.analysis_id AND ph_own.endpoint = c.endpoint AND ph_own.model = c.model
    LEFT JOIN ph AS ph_univariable
        ON ph_univariable.analysis_id = c.analysis_id AND ph_univariable.endpoint = c.endpoint
        AND ph_univariable.model = 'univariable'
    LEFT JOIN groups AS g ON g.analysis_id = c.analysis_id AND g.endpoint = c.endpoint
    LEFT JOIN positivity AS pos
        ON pos.analysis_id = c.analysis_id AND pos.endpoint = c.endpoint AND pos.model = c.model
)

SELECT
    *,
    CASE
        WHEN ph_test_failed OR positivity_concern THEN 'red'
        WHEN few_events OR counts_withheld THEN 'amber'
        ELSE 'green'
    END AS light
FROM summary;
