-- grain: one patient and line of therapy.
-- intermediate.int_tki_lines: one row per patient and line of therapy for advanced disease (episodes of a line
-- merged; neoadjuvant and adjuvant episodes are not lines for advanced disease; an empty setting is advanced).
--   agent            : the line's agent (the agent of its first episode)
--   start_date       : first day of the line; end_date: last day (NULL while ongoing)
--   starting_dose_mg : dose of the first episode
--   max_dose_mg      : highest dose (escalation 400 -> 800)
--   episodes         : treatment episodes merged into the line
--   dose_reductions  : episodes of the line recorded as a dose reduction (dose_change = 'reduction')
--   end_reason       : why the line's last episode ended
CREATE OR REPLACE VIEW intermediate.int_tki_lines AS
SELECT
    site_id,
    patient_id,
    line,
    arg_min(agent, start_date)                                   AS agent,
    min(start_date)                                              AS start_date,
    CASE WHEN bool_or(end_date IS NULL) THEN NULL ELSE max(end_date) END AS end_date,
    arg_min(daily_dose_mg, start_date)                           AS starting_dose_mg,
    max(daily_dose_mg)                                           AS max_dose_mg,
    arg_max(end_reason, start_date)                              AS end_reason,
    count(*)                                                     AS episodes,
    count(*) FILTER (WHERE dose_change = 'reduction')            AS dose_reductions
FROM core.tki_episodes
WHERE coalesce(setting, 'advanced') = 'advanced'
GROUP BY site_id, patient_id, line;
