{#- The deal history of the previously published warehouse (empty on a first run). -#}
select
    deal_id,
    account_id,
    stage,
    pipeline_stage,
    list_amount,
    final_amount,
    closed_at,
    expected_close_date,
    owner,
    flagged_strategic,
    in_export,
    valid_from
from {{ source('raw', 'deal_history_prior') }}
