select
    deal_id,
    account_id,
    deal_type,
    product_line,
    created_at,
    closed_at,
    stage,
    list_amount,
    final_amount,
    gross_margin_pct,
    competitor,
    loss_reason,
    coalesce(flagged_strategic, false) as flagged_strategic,
    owner,
    updated_at
from {{ source('raw', 'deals_history') }}
