{#- The latest load of each source (the loader may keep earlier loads as history): rows read,
    loaded and rejected, for the data-quality section of the pages. -#}
with loads as (
    select source, source_file, file_present, rows_read, rows_loaded, rows_rejected, loaded_at,
           row_number() over (partition by source order by loaded_at desc) as recency
    from {{ ref('stg_load_summary') }}
)

select source, source_file, file_present, rows_read, rows_loaded, rows_rejected, loaded_at
from loads
where recency = 1
