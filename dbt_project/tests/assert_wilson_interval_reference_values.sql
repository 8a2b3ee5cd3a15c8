{#- The Wilson macros against published reference values (z = 1.96 textbook examples and the
    edge cases 0/n and n/n); returns the rows that disagree by more than 1e-4. -#}
with cases as (
    select * from (values
        (8, 10, 0.4902, 0.9433),
        (0, 10, 0.0000, 0.2775),
        (10, 10, 0.7225, 1.0000),
        (1, 2, 0.0945, 0.9055)
    ) as reference (successes, trials, expected_low, expected_high)
),

computed as (
    select
        *,
        {{ wilson_low('successes', 'trials') }} as ci_low,
        {{ wilson_high('successes', 'trials') }} as ci_high
    from cases
)

select *
from computed
where abs(ci_low - expected_low) > 1e-4
   or abs(ci_high - expected_high) > 1e-4
