select
    account_id,
    account_name,
    segment,
    industry,
    region,
    employee_count,
    created_at
from {{ source('raw', 'accounts') }}
