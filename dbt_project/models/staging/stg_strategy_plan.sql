{#- The plan file's rows as plan entries (macros/alignment.sql, shared with `dealscope whatif`). -#}
{{ strategy_plan_entries(source('raw', 'strategy_plan')) }}
