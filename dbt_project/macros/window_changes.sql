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

{#- The account x month panel (int_account_month_panel) from `months_before` months before each
    account's `start_month` in `starts` (a relation or a parenthesised query with account_id), with that
    column; accounts not in `starts` are left out. A window model reads only the months its windows can
    reach: before an account's first activity the panel is mostly zeros (half of it at 100,000 accounts). -#}
{% macro panel_from(starts, start_month, months_before=0) -%}
    {%- set start = 'starts.' ~ start_month -%}
    select panel.*, {{ start }}
    from {{ ref('int_account_month_panel') }} as panel
    inner join {{ starts }} as starts
        on panel.account_id = starts.account_id
    where panel.month >= {{ dbt.dateadd('month', -months_before, start) if months_before else start }}
{%- endmacro %}
