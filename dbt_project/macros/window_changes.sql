{#- Per metric, over the account-windows of `relation` (columns before_<metric>, after_<metric>)
    where both windows are measured: the before and after sums, the sum of squared changes and the
    account count. trust_event_study aggregates these for a segment's accounts and for the accounts
    it excludes, and subtracts one from the other. -#}
{% macro window_change_sums(metrics, relation='') -%}
    {%- set prefix = relation ~ '.' if relation else '' -%}
    {%- for metric in metrics %}
        {%- set before = prefix ~ 'before_' ~ metric %}
        {%- set after = prefix ~ 'after_' ~ metric %}
        {{ exact_sum('case when ' ~ after ~ ' is not null then ' ~ before ~ ' end') }} as before_sum_{{ metric }},
        {{ exact_sum('case when ' ~ before ~ ' is not null then ' ~ after ~ ' end') }} as after_sum_{{ metric }},
        {{ exact_sum('(' ~ after ~ ' - ' ~ before ~ ') * (' ~ after ~ ' - ' ~ before ~ ')') }} as change_sq_sum_{{ metric }},
        count({{ after }} - {{ before }}) as accounts_{{ metric }}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}
