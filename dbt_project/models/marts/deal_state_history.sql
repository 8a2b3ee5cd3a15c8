select
    deal_id,
    account_id,
    {%- for name, type in deal_history_tracked_columns() %}
    {{ name }},
    {%- endfor %}
    in_export,
    valid_from,
    valid_to,
    is_current,
    version_number
from {{ ref('int_deal_state_history') }}
