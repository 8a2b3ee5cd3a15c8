with deals as (
    select * from {{ ref('stg_deals') }}
),

accounts as (
    select * from {{ ref('stg_accounts') }}
),

alignment as (
    select * from {{ ref('int_deal_alignment') }}
),

trust_events as (
    select * from {{ ref('int_deal_trust_events') }}
)

select
    cast(deals.deal_id as {{ dbt.type_string() }}) as deal_id,
    cast(deals.account_id as {{ dbt.type_string() }}) as account_id,
    cast(accounts.segment as {{ dbt.type_string() }}) as segment,
    cast(accounts.industry as {{ dbt.type_string() }}) as industry,
    cast(accounts.region as {{ dbt.type_string() }}) as region,
    cast(deals.deal_type as {{ dbt.type_string() }}) as deal_type,
    cast(deals.product_line as {{ dbt.type_string() }}) as product_line,
    cast(deals.owner as {{ dbt.type_string() }}) as owner,
    cast(deals.owner_team as {{ dbt.type_string() }}) as owner_team,
    cast(deals.owner_manager as {{ dbt.type_string() }}) as owner_manager,
    cast(deals.owner_office as {{ dbt.type_string() }}) as owner_office,
    cast(deals.stage as {{ dbt.type_string() }}) as stage,
    deals.is_won,
    deals.is_closed,
    cast(deals.created_at as date) as created_at,
    cast(deals.closed_at as date) as closed_at,
    {{ quarter_label('deals.closed_at') }} as close_quarter,
    cast({{ dbt.datediff('deals.created_at', 'deals.closed_at', 'day') }} as bigint) as cycle_days,
    cast(deals.list_amount as {{ type_double() }}) as list_amount,
    cast(deals.final_amount as {{ type_double() }}) as final_amount,
    cast({{ discount_pct('deals.final_amount', 'deals.list_amount', 'deals.is_won') }} as {{ type_double() }}) as discount_pct,
    cast(deals.gross_margin_pct as {{ type_double() }}) as gross_margin_pct,
    cast(alignment.alignment_score as {{ type_double() }}) as alignment_score,
    cast(alignment.alignment_band as {{ dbt.type_string() }}) as alignment_band,
    alignment.plan_effective_from,
    cast(alignment.matched_targets as {{ dbt.type_string() }}) as matched_targets,
    cast(alignment.matched_avoids as {{ dbt.type_string() }}) as matched_avoids,
    deals.flagged_strategic,
    deals.flagged_strategic and alignment.alignment_band = 'misaligned' as is_strategic_in_name_only,
    trust_events.trust_eroding_events,
    trust_events.trust_building_events,
    trust_events.competitive_events,
    cast(deals.competitor as {{ dbt.type_string() }}) as competitor,
    cast(deals.loss_reason as {{ dbt.type_string() }}) as loss_reason,
    -- The value a closed deal adds to value_won / value_lost (win_loss, loss_drivers): the agreed
    -- final_amount when won; the list_amount when lost (no price was agreed); NULL while open.
    cast(case
        when deals.is_won then coalesce(deals.final_amount, 0)
        when deals.is_closed then 0
    end as {{ type_double() }}) as won_value,
    cast(case
        when deals.is_won then 0
        when deals.is_closed then deals.list_amount
    end as {{ type_double() }}) as lost_value
from deals
inner join accounts
    on deals.account_id = accounts.account_id
inner join alignment
    on deals.deal_id = alignment.deal_id
inner join trust_events
    on deals.deal_id = trust_events.deal_id
