{#- A deal's stage path: one row per spell, a run of consecutive exports in which the deal was in
    the same stage. Time in stage is measured between export dates, so its resolution is the
    export cadence; the deal's first spell began at or before entered_at (is_entry_observed false),
    and the current spell is still running (left_at NULL, days counted to the latest export). The
    stage is the CRM's own pipeline_stage when the export gives one, else the contract's stage, so
    the path reads Prospecting -> Negotiation -> Closed Won where the CRM says so. -#}
with latest_export as (
    select max(export_date) as export_date from {{ ref('stg_export_history') }}
),

versions as (
    select
        deal_id,
        account_id,
        coalesce(pipeline_stage, stage) as stage,
        valid_from,
        valid_to,
        case when lag(coalesce(pipeline_stage, stage)) over (partition by deal_id order by valid_from)
            is not distinct from coalesce(pipeline_stage, stage)
            then 0 else 1 end as starts_spell
    from {{ ref('int_deal_state_history') }}
    where in_export
),

numbered as (
    select
        *,
        sum(starts_spell) over (partition by deal_id order by valid_from rows between unbounded preceding and current row)
            as spell_number
    from versions
),

spells as (
    select
        deal_id,
        max(account_id) as account_id,
        cast(spell_number as integer) as spell_number,
        max(stage) as stage,
        min(valid_from) as entered_at,
        -- The spell ends where its last version ends (the next stage, or the deal leaving the export).
        max(valid_to) as left_at,
        count(valid_to) < count(*) as is_current_spell
    from numbered
    group by deal_id, spell_number
)

select
    spells.deal_id,
    spells.account_id,
    spells.spell_number,
    spells.stage,
    spells.entered_at,
    case when spells.is_current_spell then null else spells.left_at end as left_at,
    spells.spell_number > 1 as is_entry_observed,
    spells.is_current_spell,
    cast({{ dbt.datediff('spells.entered_at',
                         'case when spells.is_current_spell then latest_export.export_date else spells.left_at end',
                         'day') }} as integer) as days_in_stage
from spells
cross join latest_export
