select
    effective_from,
    dimension,
    value,
    -- the matching key: plan values are matched case-insensitively to deal attributes
    lower(trim(value)) as value_key,
    stance,
    coalesce(weight, 1.0) as weight,
    _row_number as source_row_number
from {{ source('raw', 'strategy_plan') }}
