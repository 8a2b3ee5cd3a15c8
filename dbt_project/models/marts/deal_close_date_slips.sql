{#- Slipped deals: one row per export at which a deal's close date (closed_at) moved later than
    in the export before. -#}
select
    deal_id,
    account_id,
    valid_from as observed_at,
    previous_valid_from as previous_export_date,
    stage,
    previous_closed_at,
    closed_at,
    cast({{ dbt.datediff('previous_closed_at', 'closed_at', 'day') }} as integer) as days_slipped
from {{ ref('int_deal_version_changes') }}
where is_close_date_slip
