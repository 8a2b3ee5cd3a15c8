select
    account_id,
    month,
    revenue,
    gross_margin
from {{ source('raw', 'account_revenue') }}
