{#- The deal history of the previously published warehouse (empty on a first run). -#}
select
    {{ deal_history_state_columns() | join(', ') }}
from {{ source('raw', 'deal_history_prior') }}
