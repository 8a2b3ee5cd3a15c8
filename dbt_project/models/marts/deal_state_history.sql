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
    valid_from,
    valid_to,
    is_current,
    version_number
from {{ ref('int_deal_state_history') }}
