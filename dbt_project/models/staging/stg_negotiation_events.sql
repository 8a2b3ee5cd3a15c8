with events as (
    select * from {{ source('raw', 'negotiation_events') }}
),

event_types as (
    select * from {{ ref('stg_event_types') }}
)

select
    events.event_id,
    events.account_id,
    events.deal_id,
    events.occurred_at,
    events.event_type,
    events.event_label,
    event_types.polarity,
    coalesce(events.severity, 1) as severity,
    events.notes
from events
left join event_types
    on events.event_type = event_types.event_type
