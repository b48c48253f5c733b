-- grain: none (a macro only).
-- What each model or grouping is, for the views that publish it (published.v_hazard_ratios, v_survival_summary).
--   results.design_label(source, model, has_exposure) : 'naive: immortal-time biased' for the naive grouping of
--       an analysis with an exposure (its results.cox rows, whose groups are exposed at any time vs never, and
--       the naive models of results.immortal_time); 'landmark'; 'time-varying'; 'time-varying, exposure split
--       by kind'; 'time-varying with time-dependent confounders (sensitivity)'; 'as grouped' otherwise.
--       The same words as pipelines.stats.timevarying.NAIVE_LABEL, printed on the plots and in results.limits.
CREATE OR REPLACE MACRO results.design_label(source, model, has_exposure) AS
    CASE
        WHEN model LIKE 'naive%' OR (source = 'cox' AND has_exposure) THEN 'naive: immortal-time biased'
        WHEN model LIKE 'landmark\_%' ESCAPE '\' THEN 'landmark'
        WHEN model LIKE 'time\_varying\_split%' ESCAPE '\' THEN 'time-varying, exposure split by kind'
        WHEN model IN ('time_varying', 'time_varying_adjusted') THEN 'time-varying'
        WHEN model LIKE 'time\_varying\_%' ESCAPE '\' THEN 'time-varying with time-dependent confounders (sensitivity)'
        ELSE 'as grouped'
    END;
