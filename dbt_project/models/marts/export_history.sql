select
    export_date,
    export_date_source,
    deals_in_export,
    is_this_export
from {{ ref('stg_export_history') }}
