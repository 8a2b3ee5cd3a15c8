{#- Strategic alignment of every deal (docs/CONTRACT.md, "Strategic alignment"):
    the plan version in force at created_at is the latest effective_from <= created_at; for each
    dimension that version names the deal scores +weight (target), -weight (avoid) or 0 (its value
    is not named); the sum is divided by the sum over those dimensions of the dimension's largest
    weight. No version yet -> NULL score, band 'no_plan'. -#}
{% set deal_dimensions = {
    'segment': 'accounts.segment',
    'industry': 'accounts.industry',
    'region': 'accounts.region',
    'product_line': 'deals.product_line',
    'deal_type': 'deals.deal_type',
} %}

with deals as (
    select * from {{ ref('stg_deals') }}
),

accounts as (
    select * from {{ ref('stg_accounts') }}
),

-- A value written twice in one version with different case ('Retail', 'retail') is one plan
-- entry after case-insensitive matching: the first row in the file counts.
plan_entries as (
    select effective_from, dimension, value, value_key, stance, weight
    from (
        select
            *,
            row_number() over (
                partition by effective_from, dimension, value_key
                order by source_row_number
            ) as entry_rank
        from {{ ref('stg_strategy_plan') }}
    ) as ranked_plan
    where entry_rank = 1
),

plan_versions as (
    select distinct effective_from from plan_entries
),

-- The denominator: per version, the sum over named dimensions of the dimension's largest weight.
version_scale as (
    select effective_from, {{ exact_sum('max_weight') }} as max_total_weight
    from (
        select effective_from, dimension, max(weight) as max_weight
        from plan_entries
        group by effective_from, dimension
    ) as dimension_scale
    group by effective_from
),

deal_plan as (
    select
        deals.deal_id,
        max(plan_versions.effective_from) as plan_effective_from
    from deals
    left join plan_versions
        on plan_versions.effective_from <= deals.created_at
    group by deals.deal_id
),

deal_attributes as (
    {% for dimension, column in deal_dimensions.items() %}
    select
        deals.deal_id,
        '{{ dimension }}' as dimension,
        lower(trim({{ column }})) as value_key
    from deals
    inner join accounts
        on deals.account_id = accounts.account_id
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

matches as (
    select
        deal_plan.deal_id,
        plan_entries.dimension,
        plan_entries.value,
        plan_entries.stance,
        case plan_entries.stance
            when 'target' then plan_entries.weight
            when 'avoid' then -plan_entries.weight
            else 0
        end as signed_weight,
        {{ dbt.concat(['plan_entries.dimension', "'='", 'plan_entries.value']) }} as matched_entry
    from deal_plan
    inner join deal_attributes
        on deal_plan.deal_id = deal_attributes.deal_id
    inner join plan_entries
        on plan_entries.effective_from = deal_plan.plan_effective_from
        and plan_entries.dimension = deal_attributes.dimension
        and plan_entries.value_key = deal_attributes.value_key
),

deal_matches as (
    select
        deal_id,
        {{ exact_sum('signed_weight') }} as signed_weight,
        {{ dbt.listagg(
            "case when stance = 'target' then matched_entry end",
            "'; '",
            'order by matched_entry'
        ) }} as matched_targets,
        {{ dbt.listagg(
            "case when stance = 'avoid' then matched_entry end",
            "'; '",
            'order by matched_entry'
        ) }} as matched_avoids
    from matches
    group by deal_id
),

scored as (
    select
        deals.deal_id,
        deals.account_id,
        deals.created_at,
        deal_plan.plan_effective_from,
        case when deal_plan.plan_effective_from is not null
            then cast(coalesce(deal_matches.signed_weight, 0) as {{ type_double() }})
                / nullif(version_scale.max_total_weight, 0)
        end as alignment_score,
        deal_matches.matched_targets,
        deal_matches.matched_avoids
    from deals
    inner join deal_plan
        on deals.deal_id = deal_plan.deal_id
    left join version_scale
        on deal_plan.plan_effective_from = version_scale.effective_from
    left join deal_matches
        on deals.deal_id = deal_matches.deal_id
)

select
    deal_id,
    account_id,
    created_at,
    plan_effective_from,
    alignment_score,
    {{ alignment_band('alignment_score') }} as alignment_band,
    matched_targets,
    matched_avoids
from scored
