{#- One row: where account value comes from in this build. The account_revenue file decides
    (raw.load_summary.file_present of its latest load); if the loader wrote no summary row for it, the presence of
    any revenue row decides. A header-only file counts as present (its accounts have no revenue). -#}
with load_summary as (
    select
        *,
        -- the latest load decides, should the summary ever keep older loads too; rank, not
        -- row_number: rows loaded at the same moment all count, so a tie picks no row at random
        rank() over (order by loaded_at desc) as recency_rank
    from {{ ref('stg_load_summary') }}
    where source = 'account_revenue'
),

summary_flag as (
    select max(case when file_present then 1 else 0 end) as file_present_flag
    from load_summary
    where recency_rank = 1
),

revenue_rows as (
    select count(*) as revenue_row_count
    from {{ ref('stg_account_revenue') }}
),

decided as (
    select
        coalesce(
            summary_flag.file_present_flag,
            case when revenue_rows.revenue_row_count > 0 then 1 else 0 end
        ) = 1 as revenue_file_present
    from summary_flag
    cross join revenue_rows
)

select
    revenue_file_present,
    case when revenue_file_present then 'account_revenue' else 'won_deals' end as value_source
from decided
