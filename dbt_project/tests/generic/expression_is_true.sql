{#- Fails for every row where the SQL boolean expression is false (NULL counts as passing, as in
    a CHECK constraint). Used for cross-column rules. -#}
{% test expression_is_true(model, expression) %}
select *
from {{ model }}
where not ({{ expression }})
{% endtest %}
