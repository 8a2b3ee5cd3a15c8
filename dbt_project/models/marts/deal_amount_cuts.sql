{#- Deals whose amount fell after they reached a commitment stage (var commitment_stages, a stage or
    a CRM pipeline_stage): evidence
    of a concession taken back. One row per export at which the cut was seen; the same rows feed
    the trust analyses as observed events (int_trust_events). -#}
select
    deal_id,
    account_id,
    valid_from as observed_at,
    previous_valid_from as previous_export_date,
    committed_at,
    previous_stage,
    stage,
    previous_pipeline_stage,
    pipeline_stage,
    previous_amount,
    amount,
    previous_amount - amount as amount_cut,
    case when previous_amount > 0 then (previous_amount - amount) / previous_amount end as amount_cut_pct
from {{ ref('int_deal_version_changes') }}
where is_amount_cut_after_commitment
