-- The export history holds exactly one row for the export this run loaded.
select count(*) as exports_marked_this
from {{ ref('stg_export_history') }}
where is_this_export
having count(*) <> 1
