{#- Every version of a deal after its first, next to the version before it, with the changes the
    marts and the trust analyses read. A deal's amount is final_amount, else list_amount. A deal is
    committed once a version was in one of var commitment_stages; an amount cut after a commitment
    is a fall of the amount from a version at or after the commitment to the next. -#}
{%- set stages = var('commitment_stages') %}
with versions as (
    select
        *,
        coalesce(final_amount, list_amount) as amount,
        min(case when stage in ({% for stage in stages %}'{{ stage }}'{{ ', ' if not loop.last }}{% endfor %}) then valid_from end)
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
        lag(amount) over (partition by deal_id order by valid_from) as previous_amount,
        amount,
        lag(closed_at) over (partition by deal_id order by valid_from) as previous_closed_at,
        closed_at,
        committed_at
    from versions
)

select
    *,
    coalesce(closed_at > previous_closed_at, false) as is_close_date_slip,
    coalesce(committed_at is not null and amount < previous_amount, false) as is_amount_cut_after_commitment
from paired
where version_number > 1
