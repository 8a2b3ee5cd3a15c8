{#- Every recorded negotiation event with its polarity, for an account's trust history (the
    pre-negotiation brief). Without notes or source labels: they may be confidential. -#}
select
    cast(event_id as {{ dbt.type_string() }}) as event_id,
    cast(account_id as {{ dbt.type_string() }}) as account_id,
    cast(deal_id as {{ dbt.type_string() }}) as deal_id,
    cast(occurred_at as date) as occurred_at,
    cast(event_type as {{ dbt.type_string() }}) as event_type,
    cast(coalesce(polarity, 'unknown') as {{ dbt.type_string() }}) as polarity,
    cast(severity as integer) as severity
from {{ ref('stg_negotiation_events') }}
