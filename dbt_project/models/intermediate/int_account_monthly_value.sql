{#- Realised value per account and month. From account_revenue when that file was loaded;
    otherwise derived from won deals: final_amount as revenue and final_amount x gross_margin_pct
    as margin, booked in the month of closed_at (the contract's "spread over the contract's month").
    A won deal without gross_margin_pct adds revenue but no margin. -#}
with revenue_source as (
    select * from {{ ref('int_revenue_source') }}
),

revenue as (
    select * from {{ ref('stg_account_revenue') }}
),

won_deals as (
    select * from {{ ref('stg_deals') }}
    where is_won
),

from_revenue_file as (
    select
        revenue.account_id,
        revenue.month,
        revenue.revenue,
        revenue.gross_margin,
        revenue_source.value_source
    from revenue
    cross join revenue_source
    where revenue_source.revenue_file_present
),

from_won_deals as (
    select
        won_deals.account_id,
        cast({{ dbt.date_trunc('month', 'won_deals.closed_at') }} as date) as month,
        {{ exact_sum('won_deals.final_amount') }} as revenue,
        {{ exact_sum('won_deals.final_amount * won_deals.gross_margin_pct') }} as gross_margin,
        revenue_source.value_source
    from won_deals
    cross join revenue_source
    where not revenue_source.revenue_file_present
    group by 1, 2, 5
)

select * from from_revenue_file
union all
select * from from_won_deals
