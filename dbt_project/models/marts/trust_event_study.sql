{#- Event study with matched comparison accounts (difference in differences), per event type and
    per polarity (event_type 'any'). Method (docs/metrics.md):
    - treated account: its first event of the type; anchor = that event's calendar month m0;
    - windows: the var event_window_months (W) months before m0 and the W months after it (m0 in
      neither), values from int_account_event_windows (NULL when a window is not fully observed or
      holds no deal to measure);
    - comparison accounts: same segment, no event of the type in months [m0 - W, m0 + W], measured
      at the same anchor month m0; their mean change is the treated account's counterfactual change
      (computed as segment totals minus the accounts with such an event, so the cost grows with
      the number of events, not cells x accounts);
    - per treated account d = (after - before) - mean comparison (after - before) in its cell;
      difference_in_differences = mean d; interval = mean d -/+ 1.96 se, se^2 = var(d) / n + the
      comparison means' own sampling error, which the treated accounts of a cell share
      (shared_comparison_error below; normal approximation).
    Only established account-months count (int_account_event_windows holds no others: the first deal
    was created by the start of the before window), so a change is not just the relationship
    starting. Treated accounts with no comparison account measured in their cell are left out. -#}
{%- set window_months = var('event_window_months') | int -%}
{%- set metrics = ['gross_margin_pct', 'discount_pct', 'win_rate', 'cycle_days', 'monthly_revenue'] -%}

with events as (
    select * from {{ ref('int_trust_events') }}
    where polarity is not null
),

accounts as (
    select account_id, segment from {{ ref('stg_accounts') }}
),

windows as (
    select * from {{ ref('int_account_event_windows') }}
),

-- every event of a known account under its own type and under its polarity, with the account's
-- segment (an account only ever compares within its segment, so the exclusion below joins on it)
account_events as (
    select events.account_id, accounts.segment, events.event_type, events.polarity,
           cast({{ dbt.date_trunc('month', 'events.occurred_at') }} as date) as event_month
    from events
    inner join accounts
        on events.account_id = accounts.account_id
),

event_keys as (
    select account_id, segment, event_type, polarity, event_month from account_events
    union all
    select account_id, segment, 'any', polarity, event_month from account_events
),

treated as (
    select
        event_type,
        polarity,
        account_id,
        segment,
        min(event_month) as anchor_month
    from event_keys
    group by 1, 2, 3, 4
),

cells as (
    select distinct event_type, polarity, segment, anchor_month from treated
),

-- Comparison means by subtraction, so the cost grows with events, not cells x accounts:
-- (all established accounts of the segment at the anchor month) minus (those with an event of
-- the key within W months of it).
segment_totals as (
    select
        segment,
        anchor_month,
        {{ window_change_sums(metrics) }}
    from windows
    group by 1, 2
),

-- The accounts with an event of the key within W months of a cell's anchor month: each event
-- excludes its account at the 2W + 1 anchor months around it, matched to the cells by equality
-- (a range join of cells x events costs cells x events per key on Spark). An event month only
-- adds the months its predecessor (same key and account) did not cover, i.e. those after the
-- predecessor's month + W: every excluded month comes once, with no DISTINCT over all of them.
window_offsets as (
    {%- for offset in range(-window_months, window_months + 1) %}
    select {{ offset }} as month_offset{{ ' union all' if not loop.last }}
    {%- endfor %}
),

event_key_months as (
    select distinct event_type, polarity, segment, account_id, event_month from event_keys
),

event_key_gaps as (
    select
        event_type, polarity, segment, account_id, event_month,
        lag(event_month) over (partition by event_type, polarity, segment, account_id order by event_month) as previous_event_month
    from event_key_months
),

-- the first offset an event month adds: -W, or just past its predecessor's month + W
event_key_first_offsets as (
    select
        event_type, polarity, segment, account_id, event_month,
        case when previous_event_month is null then -{{ window_months }}
             else greatest(-{{ window_months }},
                           {{ window_months + 1 }} - {{ months_between('previous_event_month', 'event_month') }})
        end as first_offset
    from event_key_gaps
),

-- (first offset, offset) for every offset from the first to W: an equality join picks an event
-- month's offsets (a range condition there would make the planner join in a worse order)
offsets_from as (
    select firsts.month_offset as first_offset, offsets.month_offset
    from window_offsets as firsts
    cross join window_offsets as offsets
    where offsets.month_offset >= firsts.month_offset
),

-- Each excluded (key, account, anchor month) once. Anchor months that are no cell of the key
-- find no cell in comparison_cells' join: filtering them out here first costs more than it saves.
excluded_members as (
    select
        event_key_first_offsets.event_type,
        event_key_first_offsets.polarity,
        event_key_first_offsets.segment,
        event_key_first_offsets.account_id,
        cast({{ dbt.dateadd('month', 'offsets_from.month_offset', 'event_key_first_offsets.event_month') }} as date) as anchor_month
    from event_key_first_offsets
    inner join offsets_from
        on event_key_first_offsets.first_offset = offsets_from.first_offset
),

excluded_totals as (
    select
        excluded_members.event_type,
        excluded_members.polarity,
        excluded_members.segment,
        excluded_members.anchor_month,
        {{ window_change_sums(metrics, 'windows') }}
    from excluded_members
    inner join windows
        on excluded_members.account_id = windows.account_id
        and excluded_members.anchor_month = windows.anchor_month
        and excluded_members.segment = windows.segment
    group by 1, 2, 3, 4
),

comparison_cells as (
    select
        cells.event_type,
        cells.polarity,
        cells.segment,
        cells.anchor_month,
        {% for metric in metrics %}
        {{ ratio('segment_totals.before_sum_' ~ metric ~ ' - coalesce(excluded_totals.before_sum_' ~ metric ~ ', 0)',
                 'segment_totals.accounts_' ~ metric ~ ' - coalesce(excluded_totals.accounts_' ~ metric ~ ', 0)') }} as before_{{ metric }},
        {{ ratio('segment_totals.after_sum_' ~ metric ~ ' - coalesce(excluded_totals.after_sum_' ~ metric ~ ', 0)',
                 'segment_totals.accounts_' ~ metric ~ ' - coalesce(excluded_totals.accounts_' ~ metric ~ ', 0)') }} as after_{{ metric }},
        {%- set n = '(segment_totals.accounts_' ~ metric ~ ' - coalesce(excluded_totals.accounts_' ~ metric ~ ', 0))' %}
        {%- set change_sum = '(segment_totals.after_sum_' ~ metric ~ ' - coalesce(excluded_totals.after_sum_' ~ metric ~ ', 0)'
                             ~ ' - segment_totals.before_sum_' ~ metric ~ ' + coalesce(excluded_totals.before_sum_' ~ metric ~ ', 0))' %}
        {%- set change_sq_sum = '(segment_totals.change_sq_sum_' ~ metric ~ ' - coalesce(excluded_totals.change_sq_sum_' ~ metric ~ ', 0))' %}
        -- sample variance of the comparison accounts' changes (0 with fewer than 2: no estimate)
        case when {{ n }} >= 2
             then greatest(({{ change_sq_sum }} - {{ change_sum }} * {{ change_sum }} / {{ n }}) / ({{ n }} - 1), 0)
             else 0 end as change_variance_{{ metric }},
        {{ n }} as accounts_{{ metric }}{{ ',' if not loop.last }}
        {% endfor %}
    from cells
    inner join segment_totals
        on cells.segment = segment_totals.segment
        and cells.anchor_month = segment_totals.anchor_month
    left join excluded_totals
        on cells.event_type = excluded_totals.event_type
        and cells.polarity = excluded_totals.polarity
        and cells.segment = excluded_totals.segment
        and cells.anchor_month = excluded_totals.anchor_month
),

treated_changes as (
    {% for metric in metrics %}
    select
        treated.event_type,
        treated.polarity,
        '{{ metric }}' as metric,
        treated.account_id,
        windows.before_{{ metric }} as treated_before,
        windows.after_{{ metric }} as treated_after,
        comparison_cells.before_{{ metric }} as comparison_before,
        comparison_cells.after_{{ metric }} as comparison_after,
        treated.segment,
        treated.anchor_month,
        comparison_cells.accounts_{{ metric }} as cell_comparison_accounts,
        comparison_cells.change_variance_{{ metric }} as cell_comparison_change_variance
    from treated
    inner join windows
        on treated.account_id = windows.account_id
        and treated.anchor_month = windows.anchor_month
    inner join comparison_cells
        on treated.event_type = comparison_cells.event_type
        and treated.polarity = comparison_cells.polarity
        and treated.segment = comparison_cells.segment
        and treated.anchor_month = comparison_cells.anchor_month
    where windows.before_{{ metric }} is not null
      and windows.after_{{ metric }} is not null
      and comparison_cells.accounts_{{ metric }} > 0
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

mean_estimates as (
    select
        event_type,
        polarity,
        metric,
        count(*) as treated_accounts,
        {{ exact_avg('treated_before') }} as treated_before,
        {{ exact_avg('treated_after') }} as treated_after,
        {{ exact_avg('comparison_before') }} as comparison_before,
        {{ exact_avg('comparison_after') }} as comparison_after,
        {{ exact_avg('(treated_after - treated_before) - (comparison_after - comparison_before)') }} as difference_in_differences
    from treated_changes
    group by 1, 2, 3
),

-- sample variance of the difference in two passes (squared deviations from the mean above), each
-- an exact_sum, so it is the same on every run as var_samp's one-pass float sum is not
estimates as (
    select
        mean_estimates.*,
        {{ exact_sum('power((changes.treated_after - changes.treated_before)
            - (changes.comparison_after - changes.comparison_before)
            - mean_estimates.difference_in_differences, 2)') }}
            / nullif(count(*) - 1, 0) as variance_difference
    from mean_estimates
    inner join treated_changes as changes
        on mean_estimates.event_type = changes.event_type
        and mean_estimates.polarity = changes.polarity
        and mean_estimates.metric = changes.metric
    group by all
),

-- The treated accounts of one cell share its comparison mean, whose sampling error var_c / m_c
-- (m_c comparison accounts) does not average out over them: the mean difference's variance is
-- var(d) / n + sum over cells of (k_c / n)^2 var_c / m_c (k_c treated accounts in cell c).
shared_comparison_error as (
    select event_type, polarity, metric,
           {{ exact_sum('treated_in_cell * treated_in_cell * change_variance / comparison_in_cell') }} as weighted_cell_variance
    from (
        select event_type, polarity, metric, segment, anchor_month,
               count(*) as treated_in_cell,
               max(cell_comparison_change_variance) as change_variance,
               max(cell_comparison_accounts) as comparison_in_cell
        from treated_changes
        group by 1, 2, 3, 4, 5
    ) as treated_cells
    group by 1, 2, 3
),

-- sd whose sd / sqrt(n) is the standard error above, for the shared interval macros
estimate_errors as (
    select estimates.event_type, estimates.polarity, estimates.metric,
           sqrt(estimates.variance_difference
                + shared_comparison_error.weighted_cell_variance / estimates.treated_accounts) as sd_difference
    from estimates
    inner join shared_comparison_error
        on estimates.event_type = shared_comparison_error.event_type
        and estimates.polarity = shared_comparison_error.polarity
        and estimates.metric = shared_comparison_error.metric
),

-- comparison accounts measured in the cells the treated accounts used, summed over those cells
-- (an account serving as comparison at two anchor months counts twice)
comparison_accounts as (
    select event_type, polarity, metric, sum(cell_comparison_accounts) as comparison_accounts
    from (
        select distinct event_type, polarity, metric, segment, anchor_month, cell_comparison_accounts
        from treated_changes
    ) as used_cells
    group by 1, 2, 3
),

sides as (
    select 'before' as window_side union all select 'after'
)

select
    cast(estimates.event_type as {{ dbt.type_string() }}) as event_type,
    cast(estimates.polarity as {{ dbt.type_string() }}) as polarity,
    cast(estimates.metric as {{ dbt.type_string() }}) as metric,
    cast(sides.window_side as {{ dbt.type_string() }}) as {{ adapter.quote('window') }},
    cast(estimates.treated_accounts as bigint) as treated_accounts,
    cast(case sides.window_side when 'before' then estimates.treated_before else estimates.treated_after end
        as {{ type_double() }}) as treated_value,
    cast(coalesce(comparison_accounts.comparison_accounts, 0) as bigint) as comparison_accounts,
    cast(case sides.window_side when 'before' then estimates.comparison_before else estimates.comparison_after end
        as {{ type_double() }}) as comparison_value,
    cast(estimates.difference_in_differences as {{ type_double() }}) as difference_in_differences,
    cast({{ mean_ci_low('estimates.difference_in_differences', 'estimate_errors.sd_difference', 'estimates.treated_accounts') }}
        as {{ type_double() }}) as ci_low,
    cast({{ mean_ci_high('estimates.difference_in_differences', 'estimate_errors.sd_difference', 'estimates.treated_accounts') }}
        as {{ type_double() }}) as ci_high,
    {{ window_months }} as window_months
from estimates
inner join estimate_errors
    on estimates.event_type = estimate_errors.event_type
    and estimates.polarity = estimate_errors.polarity
    and estimates.metric = estimate_errors.metric
cross join sides
left join comparison_accounts
    on estimates.event_type = comparison_accounts.event_type
    and estimates.polarity = comparison_accounts.polarity
    and estimates.metric = comparison_accounts.metric
