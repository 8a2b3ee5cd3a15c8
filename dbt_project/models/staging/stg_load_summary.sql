select
    source,
    source_file,
    file_present,
    rows_read,
    rows_loaded,
    rows_rejected,
    loaded_at
from {{ source('raw', 'load_summary') }}
