select
    {{ deal_history_state_columns() | join(', ') }},
    valid_to,
    is_current,
    version_number
from {{ ref('int_deal_state_history') }}
