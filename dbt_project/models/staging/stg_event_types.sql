select
    event_type,
    polarity
from {{ source('raw', 'event_types') }}
