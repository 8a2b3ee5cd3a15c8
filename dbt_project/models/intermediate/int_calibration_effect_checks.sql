{#- One row per simulated world x effect row (the within-account primary `adjusted_effect` and the
    `cross_sectional` DML): did it reject, and did a check that the product reports flag it?
    A design is judged by its own checks, as models/verdicts.py words the verdicts: the pre-trend
    judges the within-account design; the future-treatment control and the placebo judge the
    cross-sectional one. `any_check_failed`: any of the hypothesis's checks failed, whichever design
    it judges (what a reader of all the rows would see). -#}
{#- one simulated world's rows of one hypothesis: its effect rows and their checks -#}
{%- set world_key = ['stress', 'world', 'seed', 'accounts_per_world', 'base_hypothesis'] -%}
with study_rows as (
    select * from {{ ref('stg_calibration_worlds') }}
),

checks as (
    select
        {{ world_key | join(', ') }},
        max(case when test = 'pre_trend' and is_rejected then 1 else 0 end) as pre_trend_failed,
        max(case when test = 'future_treatment' and is_rejected then 1 else 0 end) as future_treatment_failed,
        max(case when test = 'placebo' and is_rejected then 1 else 0 end) as placebo_failed
    from study_rows
    where test in ('pre_trend', 'future_treatment', 'placebo')
    group by {{ world_key | join(', ') }}
),

effects as (
    select
        {{ world_key | join(', ') }},
        hypothesis,
        test,
        truth,
        estimate,
        p_value,
        is_rejected,
        truth = 0 and is_rejected as is_false_positive
    from study_rows
    where test in ('adjusted_effect', 'cross_sectional') and has_result
),

judged as (
    select
        effects.*,
        coalesce(checks.pre_trend_failed, 0) = 1 as pre_trend_failed,
        coalesce(checks.future_treatment_failed, 0) = 1 as future_treatment_failed,
        coalesce(checks.placebo_failed, 0) = 1 as placebo_failed
    from effects
    left join checks using ({{ world_key | join(', ') }})
)

select
    *,
    case
        when test = 'adjusted_effect' then pre_trend_failed
        else future_treatment_failed or placebo_failed
    end as is_flagged,
    case
        when test = 'adjusted_effect' then case when pre_trend_failed then 'pre_trend' end
        when future_treatment_failed and placebo_failed then 'future_treatment, placebo'
        when future_treatment_failed then 'future_treatment'
        when placebo_failed then 'placebo'
    end as flagged_by,
    pre_trend_failed or future_treatment_failed or placebo_failed as any_check_failed
from judged
