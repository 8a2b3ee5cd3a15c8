{#- What followed an escalation over the buyer's head at the accounts comparable to each open deal's
    account, at every similarity level of macros/comparables.sql (comparable_account_levels; one row
    per open deal and level). The accounts counted are those whose first escalation has fully
    observed follow-up windows (int_account_escalations.is_observed), other than the deal's own
    account (its own history is in account_trust_timeline). Attributes compare as text, a missing
    value as 'unknown'; size band: account_size_band(employee_count).
      accounts                       comparable escalated accounts
      share_with_takeover            of them, buyer management took over within var takeover_window_months
      share_with_second_source       of them, a second source came within var second_source_window_months
    each with its 95% Wilson interval. is_chosen_level marks the level the brief uses: the tightest
    with at least var('min_comparable_accounts') accounts, else the loosest (segment), flagged small
    sample. -#}
{%- set levels = comparable_account_levels() -%}
{%- set min_accounts = var('min_comparable_accounts') | int -%}

with accounts as (
    select
        account_id,
        {{ dimension_value('segment') }} as segment,
        {{ dimension_value('industry') }} as industry,
        {{ dimension_value('region') }} as region,
        {{ account_size_band('employee_count') }} as size_band
    from {{ ref('stg_accounts') }}
),

escalated as (
    select
        accounts.*,
        case when escalations.took_over_at is not null then 1 else 0 end as took_over,
        case when escalations.second_source_at is not null then 1 else 0 end as added_second_source
    from {{ ref('int_account_escalations') }} as escalations
    inner join accounts
        on escalations.account_id = accounts.account_id
    where escalations.is_observed
),

open_deals as (
    select
        deals.deal_id,
        accounts.*,
        coalesce(own.took_over, 0) as own_took_over,
        coalesce(own.added_second_source, 0) as own_added_second_source,
        case when own.account_id is not null then 1 else 0 end as own_escalated
    from {{ ref('open_deals') }} as deals
    inner join accounts
        on deals.account_id = accounts.account_id
    left join escalated as own
        on deals.account_id = own.account_id
),

{#- The deal's own account matches its own cell at every level: its contribution is taken out. -#}
{{ similarity_level_ctes(
    levels, 'open_deals', 'escalated',
    aggregates=[
        'count(*) as accounts',
        'sum(took_over) as accounts_with_takeover',
        'sum(added_second_source) as accounts_with_second_source',
    ],
    columns=[
        'open_deals.account_id',
        'open_deals.own_escalated = 1 as is_own_account_escalated',
        'coalesce(cells.accounts, 0) - open_deals.own_escalated as accounts',
        'coalesce(cells.accounts_with_takeover, 0) - open_deals.own_took_over as accounts_with_takeover',
        'coalesce(cells.accounts_with_second_source, 0) - open_deals.own_added_second_source as accounts_with_second_source',
    ],
    count_column='accounts', minimum=min_accounts) }}

select
    cast(by_level.deal_id as {{ dbt.type_string() }}) as deal_id,
    cast(by_level.account_id as {{ dbt.type_string() }}) as account_id,
    cast(by_level.similarity_level as integer) as similarity_level,
    cast(by_level.matched_on as {{ dbt.type_string() }}) as matched_on,
    by_level.is_chosen_level,
    by_level.is_own_account_escalated,
    cast(by_level.accounts as bigint) as accounts,
    cast(by_level.accounts_with_takeover as bigint) as accounts_with_takeover,
    cast({{ ratio('by_level.accounts_with_takeover', 'by_level.accounts') }} as {{ type_double() }}) as share_with_takeover,
    cast({{ wilson_low('by_level.accounts_with_takeover', 'by_level.accounts') }} as {{ type_double() }}) as share_with_takeover_ci_low,
    cast({{ wilson_high('by_level.accounts_with_takeover', 'by_level.accounts') }} as {{ type_double() }}) as share_with_takeover_ci_high,
    cast(by_level.accounts_with_second_source as bigint) as accounts_with_second_source,
    cast({{ ratio('by_level.accounts_with_second_source', 'by_level.accounts') }} as {{ type_double() }}) as share_with_second_source,
    cast({{ wilson_low('by_level.accounts_with_second_source', 'by_level.accounts') }} as {{ type_double() }}) as share_with_second_source_ci_low,
    cast({{ wilson_high('by_level.accounts_with_second_source', 'by_level.accounts') }} as {{ type_double() }}) as share_with_second_source_ci_high,
    by_level.accounts < {{ min_accounts }} as is_small_sample
from by_chosen_level as by_level
