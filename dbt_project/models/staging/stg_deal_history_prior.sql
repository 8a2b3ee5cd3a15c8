{#- The deal history of the previously published warehouse (empty on a first run). -#}
select
    deal_id,
    account_id,
    stage,
    list_amount,
    final_amount,
    closed_at,
    owner,
    flagged_strategic,
    in_export,
    valid_from
from {{ source('raw', 'deal_history_prior') }}
