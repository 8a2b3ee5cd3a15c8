{#- One row: the date the warehouse is "as of". var('as_of_date') pins it; null means the latest
    date found in the data (deal created/closed dates, event dates, revenue months). -#}
{% if var('as_of_date') %}

select
    cast('{{ var("as_of_date") }}' as date) as as_of_date,
    'var' as as_of_source

{% else %}

with data_dates as (
    select created_at as data_date from {{ ref('stg_deals') }}
    union all
    select closed_at from {{ ref('stg_deals') }}
    union all
    select occurred_at from {{ ref('stg_negotiation_events') }}
    union all
    select month from {{ ref('stg_account_revenue') }}
)

select
    max(data_date) as as_of_date,
    'data' as as_of_source
from data_dates

{% endif %}
