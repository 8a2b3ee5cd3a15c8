{#- The deal history of the previously published warehouse (empty on a first run). -#}
select
    deal_id,
    account_id,
    {%- for name, type in deal_history_tracked_columns() %}
    {{ name }},
    {%- endfor %}
    in_export,
    valid_from
from {{ source('raw', 'deal_history_prior') }}
