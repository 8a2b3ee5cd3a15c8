{#- Outcomes by plan version x alignment band, so a plan change shows as a new block of rows; the
    metrics are the macro alignment_band_outcomes (macros/alignment.sql), which `dealscope whatif`
    runs on a draft plan's bands too. -#}
{{ alignment_band_outcomes(ref('fct_deals'), ref('account_value'), ['plan_effective_from', 'alignment_band']) }}
