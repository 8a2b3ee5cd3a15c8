{#- Slipped deals: one row per export at which a deal's close date moved later than in the export
    before: closed_at of a closed deal (slipped_date = 'closed_at'), or expected_close_date of a deal
    open in both exports (slipped_date = 'expected_close_date'). -#}
select
    deal_id,
    account_id,
    valid_from as observed_at,
    previous_valid_from as previous_export_date,
    stage,
    case when is_close_date_slip then 'closed_at' else 'expected_close_date' end as slipped_date,
    previous_closed_at,
    closed_at,
    previous_expected_close_date,
    expected_close_date,
    cast(case when is_close_date_slip
        then {{ dbt.datediff('previous_closed_at', 'closed_at', 'day') }}
        else {{ dbt.datediff('previous_expected_close_date', 'expected_close_date', 'day') }}
    end as integer) as days_slipped
from {{ ref('int_deal_version_changes') }}
where is_close_date_slip or is_expected_close_date_slip
