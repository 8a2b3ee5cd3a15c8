{#- The events the trust analyses count: every event a user recorded (negotiation_events), and
    the events dealscope observed across exports (an amount cut after a commitment, dated at the
    export that showed it), told apart by event_source. With a single export there are no
    observed events and this is stg_negotiation_events plus event_source = 'recorded'. -#}
with recorded as (
    select
        event_id,
        account_id,
        deal_id,
        occurred_at,
        event_type,
        event_label,
        polarity,
        severity,
        notes,
        'recorded' as event_source
    from {{ ref('stg_negotiation_events') }}
),

observed_type as (
    select event_type, polarity
    from {{ ref('stg_event_types') }}
    where event_type = '{{ var("observed_amount_cut_event_type") }}'
),

observed as (
    select
        {{ dbt.concat(["'observed:'", "observed_type.event_type", "':'", "cuts.deal_id", "':'",
                       dbt.cast("cuts.valid_from", dbt.type_string())]) }} as event_id,
        cuts.account_id,
        cuts.deal_id,
        cuts.valid_from as occurred_at,
        observed_type.event_type,
        cast(null as {{ dbt.type_string() }}) as event_label,
        observed_type.polarity,
        1 as severity,
        cast(null as {{ dbt.type_string() }}) as notes,
        'observed' as event_source
    from {{ ref('int_deal_version_changes') }} as cuts
    cross join observed_type
    where cuts.is_amount_cut_after_commitment
)

select * from recorded
union all
select * from observed
