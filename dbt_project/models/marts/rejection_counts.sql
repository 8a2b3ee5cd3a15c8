{#- Rejected input rows counted by source and reason, for the data-quality section of the pages.
    Only source and reason are read: the stored record and detail may hold confidential notes. -#}
select source, reason, count(*) as rows_rejected
from {{ source('loader', 'rejected_rows') }}
group by source, reason
