{#- Deals whose CRM label and plan alignment disagree: flagged strategic but misaligned
    ('strategic_in_name_only', the contract's term) and aligned but not flagged ('unflagged_aligned').
    Deals created before the first plan (no_plan) are in neither list. -#}
with deals as (
    select * from {{ ref('fct_deals') }}
),

findings as (
    select
        case
            when flagged_strategic and alignment_band = 'misaligned' then 'strategic_in_name_only'
            when not flagged_strategic and alignment_band = 'aligned' then 'unflagged_aligned'
        end as audit_finding,
        *
    from deals
)

select
    cast(audit_finding as {{ dbt.type_string() }}) as audit_finding,
    cast(deal_id as {{ dbt.type_string() }}) as deal_id,
    cast(account_id as {{ dbt.type_string() }}) as account_id,
    cast(owner as {{ dbt.type_string() }}) as owner,
    cast(stage as {{ dbt.type_string() }}) as stage,
    cast(created_at as date) as created_at,
    cast(alignment_score as {{ type_double() }}) as alignment_score,
    cast(alignment_band as {{ dbt.type_string() }}) as alignment_band,
    cast(matched_targets as {{ dbt.type_string() }}) as matched_targets,
    cast(matched_avoids as {{ dbt.type_string() }}) as matched_avoids,
    cast(list_amount as {{ type_double() }}) as list_amount,
    cast(final_amount as {{ type_double() }}) as final_amount,
    plan_effective_from,
    flagged_strategic,
    cast(segment as {{ dbt.type_string() }}) as segment,
    cast(deal_type as {{ dbt.type_string() }}) as deal_type,
    cast(product_line as {{ dbt.type_string() }}) as product_line
from findings
where audit_finding is not null
