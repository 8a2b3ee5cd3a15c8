{#- The overview's headline: one row of totals over account_value. -#}
select
    count(*) as accounts,
    count(case when is_active then 1 end) as active_accounts,
    sum(lifetime_revenue) as lifetime_revenue,
    sum(lifetime_gross_margin) as lifetime_gross_margin
from {{ ref('account_value') }}
