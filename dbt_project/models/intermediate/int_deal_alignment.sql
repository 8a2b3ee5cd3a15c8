{#- Strategic alignment of every deal (docs/CONTRACT.md, "Strategic alignment"); the formula is the
    macro deal_alignment (macros/alignment.sql), which `dealscope whatif` runs on a draft plan too. -#}
{{ deal_alignment(ref('stg_deals'), ref('stg_accounts'), ref('stg_strategy_plan')) }}
