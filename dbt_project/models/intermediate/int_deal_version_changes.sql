{#- Every version of a deal after its first, next to the version before it, with the changes the
    marts and the trust analyses read. A deal's amount is final_amount, else list_amount. A deal is
    committed once a version's stage or pipeline_stage was one of var commitment_stages (compared
    case-insensitively, so it may name the contract's won as well as CRM stages such as Commit); an
    amount cut after a commitment is a fall of the amount from a version at or after the commitment
    to the next. A close-date slip is closed_at moving later, or, between two versions in which the
    deal is open, expected_close_date moving later. -#}
{%- set stages = var('commitment_stages') %}
{%- set stage_list %}{% for stage in stages %}'{{ stage | lower | replace("'", "''") }}'{{ ', ' if not loop.last }}{% endfor %}{% endset %}
with versions as (
    select
        *,
        coalesce(final_amount, list_amount) as amount,
        min(case when lower(stage) in ({{ stage_list }}) or lower(pipeline_stage) in ({{ stage_list }}) then valid_from end)
            over (partition by deal_id order by valid_from rows between unbounded preceding and 1 preceding)
            as committed_at
    from {{ ref('int_deal_state_history') }}
),

paired as (
    select
        deal_id,
        account_id,
        version_number,
        lag(valid_from) over (partition by deal_id order by valid_from) as previous_valid_from,
        valid_from,
        lag(in_export) over (partition by deal_id order by valid_from) as previous_in_export,
        in_export,
        lag(stage) over (partition by deal_id order by valid_from) as previous_stage,
        stage,
        lag(pipeline_stage) over (partition by deal_id order by valid_from) as previous_pipeline_stage,
        pipeline_stage,
        lag(amount) over (partition by deal_id order by valid_from) as previous_amount,
        amount,
        lag(closed_at) over (partition by deal_id order by valid_from) as previous_closed_at,
        closed_at,
        lag(expected_close_date) over (partition by deal_id order by valid_from) as previous_expected_close_date,
        expected_close_date,
        committed_at
    from versions
)

select
    *,
    coalesce(closed_at > previous_closed_at, false) as is_close_date_slip,
    coalesce(stage = 'open' and previous_stage = 'open' and expected_close_date > previous_expected_close_date, false)
        as is_expected_close_date_slip,
    coalesce(committed_at is not null and amount < previous_amount, false) as is_amount_cut_after_commitment
from paired
where version_number > 1
