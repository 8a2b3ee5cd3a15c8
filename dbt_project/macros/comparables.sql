{#- A size band: labels[i] when `value` is below cut_points[i] (ascending) and not below the cut
    point before, the last label at or above the last cut point, 'unknown' without a value. -#}
{% macro size_band(value, cut_points, labels) -%}
    {%- if labels | length != cut_points | length + 1 -%}
        {{ exceptions.raise_compiler_error("size_band needs one label more than cut points: " ~ labels ~ ", " ~ cut_points) }}
    {%- endif -%}
    case
        when {{ value }} is null then 'unknown'
        {%- for cut_point in cut_points %}
        when {{ value }} < {{ cut_point }} then '{{ labels[loop.index0] }}'
        {%- endfor %}
        else '{{ labels[-1] }}'
    end
{%- endmacro %}

{#- The size band a deal is compared in: the order of magnitude of its list amount
    ('10k-100k', ...), 'unknown' without one. Open deals have no final amount, so list amount is
    the one size both open and closed deals carry. -#}
{% macro deal_size_band(list_amount) -%}
    {{ size_band(list_amount, [1000, 10000, 100000, 1000000], ['under 1k', '1k-10k', '10k-100k', '100k-1M', '1M and over']) }}
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
    {{ size_band(employee_count, [10, 100, 1000, 10000], ['under 10', '10-99', '100-999', '1k-10k', '10k and over']) }}
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


{#- The comparison of each open deal with its comparable rows at every similarity level, tightest
    first, as four CTEs:
      cells_<level>  `aggregates` over relation `compared`, grouped by the level's attributes;
      by_level       one row per row of relation `subjects` (one per open deal, key deal_id) and
                     level: similarity_level, matched_on (the level's attributes) and `columns`, SQL
                     over `subjects` and the level's cell (`cells`, joined on the level's attributes);
      chosen         per deal_id, chosen_level: the tightest level whose by_level column
                     `count_column` is at least `minimum`, else the last;
      by_chosen_level  by_level with is_chosen_level (the level is the deal's chosen_level). -#}
{% macro similarity_level_ctes(levels, subjects, compared, aggregates, columns, count_column, minimum) -%}
{%- for keys in levels %}
cells_{{ loop.index }} as (
    select
        {{ keys | join(', ') }},
        {{ aggregates | join(', ') }}
    from {{ compared }}
    group by {{ keys | join(', ') }}
),
{% endfor %}
by_level as (
    {%- for keys in levels %}
    select
        {{ subjects }}.deal_id,
        {{ loop.index }} as similarity_level,
        '{{ keys | join(", ") }}' as matched_on,
        {{ columns | join(', ') }}
    from {{ subjects }}
    left join cells_{{ loop.index }} as cells
        on {% for key in keys %}{{ subjects }}.{{ key }} = cells.{{ key }}{% if not loop.last %} and {% endif %}{% endfor %}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

chosen as (
    select
        deal_id,
        coalesce(min(case when {{ count_column }} >= {{ minimum }} then similarity_level end),
                 {{ levels | length }}) as chosen_level
    from by_level
    group by deal_id
),

by_chosen_level as (
    select
        by_level.*,
        by_level.similarity_level = chosen.chosen_level as is_chosen_level
    from by_level
    inner join chosen
        on by_level.deal_id = chosen.deal_id
)
{%- endmacro %}
