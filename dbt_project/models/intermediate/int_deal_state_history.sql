{#- Each deal's state per export as a slowly changing history: the previous history plus this
    export, one row per version. A version starts at an export (valid_from) where a tracked column
    or the deal's presence in the export differs from the version before; valid_to is the export
    date of the next version. This export replaces a previous version of the same date (a re-run);
    a forced older export is inserted at its date. Deals known before and absent from this export
    get a version with in_export = false. The tracked columns: var deal_history_tracked_columns. -#}
{%- set tracked = deal_history_tracked_columns() %}

with this_export as (
    select export_date from {{ ref('stg_export_history') }} where is_this_export
),

prior as (
    select *
    from {{ ref('stg_deal_history_prior') }}
    where valid_from <> (select export_date from this_export)
),

in_this_export as (
    select
        deals.deal_id,
        deals.account_id,
        {%- for name, type in tracked %}
        deals.{{ name }},
        {%- endfor %}
        true as in_export,
        this_export.export_date as valid_from
    from {{ ref('stg_deals') }} as deals
    cross join this_export
),

known_deals as (
    select deal_id, max(account_id) as account_id
    from prior
    group by deal_id
),

absent_from_this_export as (
    select
        known_deals.deal_id,
        known_deals.account_id,
        {%- for name, type in tracked %}
        cast(null as {{ type }}) as {{ name }},
        {%- endfor %}
        false as in_export,
        this_export.export_date as valid_from
    from known_deals
    cross join this_export
    where known_deals.deal_id not in (select deal_id from in_this_export)
),

states as (
    select * from prior
    union all
    select * from in_this_export
    union all
    select * from absent_from_this_export
),

seen as (
    -- A deal's history starts at the first export that holds it (a forced older export does not
    -- add an absent version before it).
    select
        *,
        max(case when in_export then 1 else 0 end) over (
            partition by deal_id order by valid_from rows between unbounded preceding and current row
        ) as seen_before
    from states
),

compared as (
    select
        *,
        lag(valid_from) over (partition by deal_id order by valid_from) as previous_valid_from,
        case when
            {%- for name in tracked | map('first') | list + ['in_export'] %}
            {{ 'and ' if not loop.first }}lag({{ name }}) over (partition by deal_id order by valid_from) is not distinct from {{ name }}
            {%- endfor %}
        then false else true end as is_new_version
    from seen
    where seen_before = 1
),

versions as (
    select * from compared
    where is_new_version or previous_valid_from is null
)

select
    {{ deal_history_state_columns() | join(', ') }},
    lead(valid_from) over (partition by deal_id order by valid_from) as valid_to,
    lead(valid_from) over (partition by deal_id order by valid_from) is null as is_current,
    cast(row_number() over (partition by deal_id order by valid_from) as integer) as version_number
from versions
