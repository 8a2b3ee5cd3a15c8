{#- One row: the date the warehouse is "as of". var('as_of_date') pins it; null means the latest
    date found in the data (deal created/closed dates, event dates, revenue months).
    last_complete_month: the last calendar month observed in full (the as-of month when as_of_date
    is its last day, else the month before); windows over months end there (right-censoring). -#}
with as_of as (
{% if var('as_of_date') %}

    select
        cast('{{ var("as_of_date") }}' as date) as as_of_date,
        'var' as as_of_source

{% else %}

    select
        max(data_date) as as_of_date,
        'data' as as_of_source
    from (
        select created_at as data_date from {{ ref('stg_deals') }}
        union all
        select closed_at from {{ ref('stg_deals') }}
        union all
        select occurred_at from {{ ref('stg_negotiation_events') }}
        union all
        select month from {{ ref('stg_account_revenue') }}
    ) as data_dates

{% endif %}
)

select
    as_of_date,
    as_of_source,
    cast(case
        when extract(day from {{ dbt.dateadd('day', 1, 'as_of_date') }}) = 1
            then {{ dbt.date_trunc('month', 'as_of_date') }}
        else {{ dbt.dateadd('month', -1, dbt.date_trunc('month', 'as_of_date')) }}
    end as date) as last_complete_month
from as_of
