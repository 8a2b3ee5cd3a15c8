{#- Accounts per bin of lifetime gross margin, for the trust page: one row per (view, segment, bin),
    for the view 'all segments' and each segment. Bins are equal on a log scale (bin k holds values in
    [10^(k/b), 10^((k+1)/b)), b = var account_value_bins_per_decade), so the page has the same size at
    2,000 or 100,000 accounts; accounts with zero or negative margin are one row with is_zero_or_less,
    accounts without a value one row with bin NULL too. A view's counts add up to its accounts. -#}
{%- set per_decade = var('account_value_bins_per_decade') | int -%}
with accounts as (
    select coalesce(segment, 'unknown') as segment, lifetime_gross_margin as v
    from {{ ref('account_value') }}
),

views as (
    {{ segment_views('accounts', ['segment', 'v']) }}
),

binned as (
    select view, is_segment_view, segment, v <= 0 as is_zero_or_less,
           cast(case when v > 0 then floor(log10(v) * {{ per_decade }} + 1e-9) end as integer) as bin
    from views
)

select view, is_segment_view, segment, bin, coalesce(is_zero_or_less, false) as is_zero_or_less,
       cast(power(10, bin / {{ per_decade }}.0) as double) as bin_low,
       cast(power(10, (bin + 1) / {{ per_decade }}.0) as double) as bin_high,
       count(*) as accounts
from binned
group by view, is_segment_view, segment, bin, is_zero_or_less
