{#- The overview's headline: one row of totals over account_value (exact sums: the same on every run). -#}
select
    count(*) as accounts,
    count(case when is_active then 1 end) as active_accounts,
    {{ exact_sum('lifetime_revenue') }} as lifetime_revenue,
    {{ exact_sum('lifetime_gross_margin') }} as lifetime_gross_margin
from {{ ref('account_value') }}
