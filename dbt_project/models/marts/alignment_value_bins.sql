{#- Lifetime gross margin by bin of the account's mean strategic alignment, for the trust page: one row
    per (view, bin), for the view 'all segments' and each segment. Bins are 1/u wide over [-1, 1]
    (u = var alignment_bins_per_unit); accounts, the mean value with a normal 95% interval
    (mean -/+ 1.96 sd / sqrt(n), from exact sums: the same on every run) and the quartiles. Accounts without alignment (no deal under a plan)
    or without a value have bin NULL: counted, not placed. -#}
{%- set per_unit = var('alignment_bins_per_unit') | int -%}
with accounts as (
    select coalesce(segment, 'unknown') as segment, mean_alignment as a, lifetime_gross_margin as v
    from {{ ref('account_value') }}
),

views as (
    {{ segment_views('accounts', ['a', 'v']) }}
),

binned as (
    select view, is_segment_view, v,
           cast(case when a is null or v is null then null
                     else least(greatest(floor(a * {{ per_unit }} + 1e-9), -{{ per_unit }}), {{ per_unit - 1 }})
                end as integer) as bin
    from views
)

select view, is_segment_view, bin,
       cast(bin / {{ per_unit }}.0 as double) as alignment_low,
       cast((bin + 1) / {{ per_unit }}.0 as double) as alignment_high,
       count(*) as accounts,
       {{ exact_avg('v') }} as mean_value,
       {{ exact_avg('v') }} - 1.96 * {{ exact_stddev_samp('v') }} / sqrt(count(v)) as mean_value_ci_low,
       {{ exact_avg('v') }} + 1.96 * {{ exact_stddev_samp('v') }} / sqrt(count(v)) as mean_value_ci_high,
       percentile_cont(0.25) within group (order by v) as value_p25,
       {{ median('v') }} as value_median,
       percentile_cont(0.75) within group (order by v) as value_p75
from binned
group by view, is_segment_view, bin
