{#- The event-type map: the types users record (raw.event_types, from config/event_types.yml) and
    the types dealscope observes itself across exports (var observed_amount_cut_event_type). -#}
with recorded as (
    select
        event_type,
        polarity,
        'recorded' as event_source
    from {{ source('raw', 'event_types') }}
),

observed as (
    select
        '{{ var("observed_amount_cut_event_type") }}' as event_type,
        'trust_eroding' as polarity,
        'observed' as event_source
)

select * from recorded
union all
select * from observed
where event_type not in (select event_type from recorded)
