{#- The size band a deal is compared in: the order of magnitude of its list amount
    ('10k-100k', ...), 'unknown' without one. Open deals have no final amount, so list amount is
    the one size both open and closed deals carry. -#}
{% macro deal_size_band(list_amount) -%}
    case
        when {{ list_amount }} is null then 'unknown'
        when {{ list_amount }} < 1000 then 'under 1k'
        when {{ list_amount }} < 10000 then '1k-10k'
        when {{ list_amount }} < 100000 then '10k-100k'
        when {{ list_amount }} < 1000000 then '100k-1M'
        else '1M and over'
    end
{%- endmacro %}

{#- The similarity levels an open deal's comparable closed deals are looked for at, tightest
    first: each level drops one attribute of the one before. An open deal is compared at the
    first level with at least var('min_comparable_deals') closed deals, else at the last. -#}
{% macro comparable_levels() -%}
    {{ return([
        ['segment', 'industry', 'region', 'product_line', 'deal_type', 'size_band', 'competitor'],
        ['segment', 'industry', 'region', 'product_line', 'deal_type', 'size_band'],
        ['segment', 'industry', 'product_line', 'deal_type', 'size_band'],
        ['segment', 'product_line', 'deal_type', 'size_band'],
        ['segment', 'product_line', 'deal_type'],
        ['segment', 'deal_type'],
        ['segment'],
    ]) }}
{%- endmacro %}

{#- The size band an account is compared in: the order of magnitude of its employee count
    ('100-999', ...), 'unknown' without one. -#}
{% macro account_size_band(employee_count) -%}
    case
        when {{ employee_count }} is null then 'unknown'
        when {{ employee_count }} < 10 then 'under 10'
        when {{ employee_count }} < 100 then '10-99'
        when {{ employee_count }} < 1000 then '100-999'
        when {{ employee_count }} < 10000 then '1k-10k'
        else '10k and over'
    end
{%- endmacro %}

{#- The similarity levels comparable accounts are looked for at, tightest first, as for deals
    (comparable_levels): an account is compared at the first level with at least
    var('min_comparable_accounts') comparable accounts, else at the last (same segment). -#}
{% macro comparable_account_levels() -%}
    {{ return([
        ['segment', 'industry', 'region', 'size_band'],
        ['segment', 'industry', 'size_band'],
        ['segment', 'size_band'],
        ['segment'],
    ]) }}
{%- endmacro %}
