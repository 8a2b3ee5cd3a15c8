"""The dashboards package against a small hand-made warehouse written with SQL.

The fixture holds every table the pages read (contract section 3 columns, the metric
stage's marts under their issue-3 names, and the statistics tables created from models.tables),
a confidential note planted wherever a careless page could leak it (event notes, the
rejected record and detail, a `notes` column on a mart), and a hostile category label
to check escaping.
"""

from __future__ import annotations

import functools
import math
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb
import pandas as pd
import plotly.graph_objects as go
import pytest

from dashboards import build_site, reads, site
from dashboards.charts import SMALL_SAMPLE, win_rate_figure
from dashboards.components import split_overall
from dashboards.formatting import NOT_AVAILABLE, format_number, format_pct, format_signed_number
from dashboards.pages.evidence import (
    ACCOUNT_FOLDS, LATER_COHORTS, block_label, calibration_bias_figure, calibration_checks_figure,
    calibration_selection, calibration_worlds_figure, comparison_split, feature_group_label,
    feature_importance_figure, feature_set_label, forecast_deciles_figure,
    hypothesis_forest_figure, model_comparison_figure,
)
from dashboards.pages.overview import rejected_rows_figure
from dashboards.pages.strategic_fit import band_outcomes_figure
from dashboards.pages.trust import (
    account_value_histogram_figure, alignment_value_figure, cohort_retention_figure,
    escalation_path_figure, event_study_figure, move_label, move_precedents_figure,
)
from dashboards.pages.win_loss import (
    competitor_response_figure, loss_trend_figure, win_rate_by_dimension_figure,
)
from dbt_fixtures import run_dbt
from models import tables

SECRET_NOTE = "CONFIDENTIAL-buyer-said-budget-is-42k"
HOSTILE_LABEL = "<b>Acme & Co</b>"

WAREHOUSE_SQL = """
CREATE SCHEMA IF NOT EXISTS raw;

CREATE TABLE main.win_loss AS SELECT * FROM (VALUES
    ('overall',   'all',        40, 26, 14, 0.65,  0.4983, 0.7767, 1250000.0, 610000.0, false),
    ('segment',   'enterprise', 20, 15,  5, 0.75,  0.5313, 0.8881,  900000.0, 300000.0, false),
    ('segment',   'mid_market', 16,  9,  7, 0.5625,0.3323, 0.7690,  300000.0, 250000.0, false),
    ('segment',   'smb',         4,  2,  2, 0.5,   0.1500, 0.8500,   50000.0,  60000.0, true),
    ('deal_type', 'new_business',25, 14, 11, 0.56, 0.3707, 0.7327,  700000.0, 400000.0, false),
    ('deal_type', 'renewal',    15, 12,  3, 0.80,  0.5481, 0.9295,  550000.0, 210000.0, false),
    ('competitor', NULL,        30, 21,  9, 0.70,  0.5212, 0.8333, 1000000.0, 300000.0, false),
    ('competitor', 'Globex',    10,  5,  5, 0.50,  0.2366, 0.7634,  250000.0, 310000.0, true),
    ('competitor', '<b>Acme & Co</b>', 0, 0, 0, NULL, NULL, NULL,          0.0,      0.0, true)
) AS t(dimension, value, deals_closed, deals_won, deals_lost, win_rate, win_rate_ci_low,
       win_rate_ci_high, value_won, value_lost, is_small_sample);

CREATE TABLE main.fct_deals AS SELECT
    'D' || lpad(i::VARCHAR, 3, '0') AS deal_id,
    'A' || (i % 8)::VARCHAR AS account_id,
    CASE WHEN i % 5 = 0 THEN 'open' WHEN i % 3 = 0 THEN 'lost' ELSE 'won' END AS stage,
    (i % 5 <> 0 AND i % 3 <> 0) AS is_won,
    DATE '2022-01-03' + INTERVAL (i * 9) DAY AS created_at,
    CASE WHEN i % 5 = 0 THEN NULL ELSE DATE '2022-02-14' + INTERVAL (i * 9) DAY END AS closed_at,
    CASE WHEN i % 5 = 0 THEN NULL ELSE 42 END AS cycle_days,
    10000.0 * i AS list_amount,
    CASE WHEN i % 5 <> 0 AND i % 3 <> 0 THEN 9000.0 * i END AS final_amount,
    CASE WHEN i % 5 <> 0 AND i % 3 <> 0 THEN 0.1 END AS discount_pct,
    ((i % 7) - 3) / 3.0 AS alignment_score,
    CASE WHEN ((i % 7) - 3) / 3.0 >= 0.5 THEN 'aligned'
         WHEN ((i % 7) - 3) / 3.0 >= 0 THEN 'partial' ELSE 'misaligned' END AS alignment_band,
    (i % 4 = 0) AS flagged_strategic,
    (i % 4 = 0 AND ((i % 7) - 3) / 3.0 < 0) AS is_strategic_in_name_only,
    i % 3 AS trust_eroding_events,
    i % 2 AS trust_building_events,
    CASE WHEN i % 4 = 1 THEN 'Globex' END AS competitor,
    CASE WHEN i % 3 = 0 THEN 'enterprise' ELSE 'smb' END AS segment,
    '2022-Q' || (1 + (i % 4))::VARCHAR AS close_quarter
FROM range(1, 41) AS r(i);

CREATE TABLE main.account_value AS SELECT
    'A' || i::VARCHAR AS account_id,
    CASE i % 3 WHEN 0 THEN 'enterprise' WHEN 1 THEN 'mid_market' ELSE 'smb' END AS segment,
    DATE '2022-01-03' + INTERVAL (i * 20) DAY AS first_deal_at,
    24 - i AS tenure_months,
    i % 4 AS deals_won,
    50000.0 * i AS lifetime_revenue,
    12500.0 * i - 20000.0 AS lifetime_gross_margin,
    i % 3 AS trust_eroding_events,
    i % 2 AS trust_building_events,
    CASE WHEN i = 7 THEN NULL ELSE (i - 3.5) / 4.0 END AS mean_alignment,
    i % 2 = 0 AS is_active,
    $value_source AS value_source
FROM range(0, 8) AS r(i);

INSERT INTO main.hypothesis_tests BY NAME
SELECT *, feature_block || '_score' AS treatment,
       CASE WHEN estimate < 0 THEN 'negative' ELSE 'positive' END AS direction,
       3 AS n_excluded_censored, 1 AS n_excluded_not_customer, 0 AS n_excluded_other, 'revenue' AS outcome,
       0 AS random_state, CASE WHEN supported THEN 'supported' ELSE 'not_significant' END AS conclusion,
       'Fixture verdict: ' || hypothesis || ' by ' || test || '.' AS verdict
FROM (VALUES
    ('strategic_alignment', 'adjusted_effect', 'alignment', 0.123, 0.051, 0.195, 0.004, 0.008, 120,
     'double ML, cross-fitted', true, 'share of lifetime gross margin per +1 alignment'),
    ('trust_eroding_events', 'adjusted_effect', 'trust_eroding', -1830.5, -4211.0, 550.0, 0.137,
     0.137, 120, 'double ML, cross-fitted', false, 'gross margin per event'),
    ('strategic_alignment:predictive_value', 'predictive_value', 'alignment', 0.012, -0.004, 0.028, 0.071, NULL, 120,
     'corrected resampled t-test', false, 'out-of-fold R2 added over the baseline')
) AS t(hypothesis, test, feature_block, estimate, ci_low, ci_high, p_value, p_value_holm,
       n_accounts, method, supported, unit);

CREATE TABLE main.rejected_rows AS SELECT * FROM (VALUES
    ('deals', 'deals.csv', 3, '{"deal_id": "D900"}', 'bad_date:closed_at',
     'closed_at "2023-13-01" is not a date', TIMESTAMPTZ '2024-05-01 10:00:00+00'),
    ('deals', 'deals.csv', 7, '{"deal_id": "D901"}', 'unknown_account',
     'account A99 is not among the loaded accounts', TIMESTAMPTZ '2024-05-01 10:00:00+00'),
    ('deals', 'deals.csv', 8, '{"deal_id": "D902"}', 'unknown_account',
     'account A98 is not among the loaded accounts', TIMESTAMPTZ '2024-05-01 10:00:00+00'),
    ('negotiation_events', 'negotiation_events.csv', 2,
     '{"event_id": "E9", "notes": "$secret"}', 'bad_date:occurred_at',
     'occurred_at "yesterday" is not a date; notes: $secret', TIMESTAMPTZ '2024-05-01 10:00:00+00')
) AS t(source, source_file, row_number, record, reason, detail, loaded_at);

CREATE TABLE raw.load_summary AS SELECT * FROM (VALUES
    ('accounts', 'accounts.csv', true, 8, 8, 0, TIMESTAMPTZ '2024-05-01 10:00:00+00'),
    ('deals', 'deals.csv', true, 43, 40, 3, TIMESTAMPTZ '2024-05-01 10:00:00+00'),
    ('negotiation_events', 'negotiation_events.csv', true, 11, 10, 1,
     TIMESTAMPTZ '2024-05-01 10:00:00+00'),
    ('account_revenue', NULL, false, 0, 0, 0, TIMESTAMPTZ '2024-05-01 10:00:00+00'),
    ('strategy_plan', 'strategy_plan.csv', true, 5, 5, 0, TIMESTAMPTZ '2024-05-01 10:00:00+00')
) AS t(source, source_file, file_present, rows_read, rows_loaded, rows_rejected, loaded_at);

-- The metric stage's extra win_loss columns and tables.
INSERT INTO main.win_loss VALUES
    ('close_quarter', '2022-Q1', 10, 6, 4, 0.6, 0.3127, 0.8318, 300000.0, 150000.0, true),
    ('close_quarter', '2022-Q2', 12, 9, 3, 0.75, 0.4677, 0.9111, 400000.0, 120000.0, true),
    ('close_quarter', '2022-Q3', 9, 5, 4, 0.5556, 0.2667, 0.8112, 250000.0, 180000.0, true),
    ('close_quarter', '2022-Q4', 9, 6, 3, 0.6667, 0.3542, 0.8794, 300000.0, 160000.0, true);
ALTER TABLE main.win_loss ADD COLUMN win_rate_diff_vs_overall DOUBLE;
ALTER TABLE main.win_loss ADD COLUMN diff_p_value DOUBLE;
ALTER TABLE main.win_loss ADD COLUMN strength_rank BIGINT;
UPDATE main.win_loss SET win_rate_diff_vs_overall = win_rate - 0.65,
    diff_p_value = CASE value WHEN 'enterprise' THEN 0.02 WHEN 'renewal' THEN 0.03
                              WHEN 'mid_market' THEN 0.04 WHEN 'Globex' THEN 0.01 ELSE 0.5 END
WHERE dimension <> 'overall' AND win_rate IS NOT NULL;
UPDATE main.win_loss SET strength_rank = ranked.strength_rank FROM (
    SELECT dimension, value, row_number() OVER (ORDER BY win_rate_diff_vs_overall DESC) AS strength_rank
    FROM main.win_loss WHERE win_rate_diff_vs_overall IS NOT NULL
) AS ranked
WHERE win_loss.dimension = ranked.dimension AND win_loss.value IS NOT DISTINCT FROM ranked.value;
-- Benjamini-Hochberg columns: only Globex (q 0.02) and enterprise (q 0.04) survive FDR control.
ALTER TABLE main.win_loss ADD COLUMN q_value DOUBLE;
ALTER TABLE main.win_loss ADD COLUMN is_strength BOOLEAN;
ALTER TABLE main.win_loss ADD COLUMN is_weakness BOOLEAN;
ALTER TABLE main.win_loss ADD COLUMN cells_tested BIGINT;
ALTER TABLE main.win_loss ADD COLUMN flags_expected_by_chance_uncorrected DOUBLE;
UPDATE main.win_loss SET q_value = least(1.0, 2 * diff_p_value);
UPDATE main.win_loss SET
    is_strength = coalesce(q_value < 0.05 AND win_rate_diff_vs_overall > 0, false),
    is_weakness = coalesce(q_value < 0.05 AND win_rate_diff_vs_overall < 0, false),
    cells_tested = (SELECT count(diff_p_value) FROM main.win_loss),
    flags_expected_by_chance_uncorrected = 0.05 * (SELECT count(diff_p_value) FROM main.win_loss);

-- By expected value, 'missing feature' (sold near list) overtakes 'price' (deep discounts).
CREATE TABLE main.loss_drivers AS SELECT * FROM (VALUES
    ('loss_reason', 'price', 6, 410000.0, 0.6721, 120000.0, 0.4, 2, 1),
    ('loss_reason', 'missing feature', 5, 150000.0, 0.2459, 140000.0, 0.4667, 1, 2),
    ('loss_reason', 'timing', 3, 50000.0, 0.0820, 40000.0, 0.1333, 3, 3),
    ('competitor', 'Globex', 5, 310000.0, 0.5082, 250000.0, 0.7576, 1, 1),
    ('competitor', '<b>Acme & Co</b>', 2, 90000.0, 0.1475, 80000.0, 0.2424, 2, 2)
) AS t(driver_kind, driver, deals_lost, value_lost, share_of_value_lost, expected_value_lost,
       share_of_expected_value_lost, rank, list_value_rank);

CREATE TABLE main.loss_drivers_by_quarter AS SELECT * FROM (VALUES
    ('loss_reason', 'price', '2022-Q1', 2, 120000.0), ('loss_reason', 'price', '2022-Q2', 4, 290000.0),
    ('loss_reason', 'timing', '2022-Q1', 3, 50000.0), ('competitor', 'Globex', '2022-Q3', 5, 310000.0)
) AS t(driver_kind, driver, close_quarter, deals_lost, value_lost);

CREATE TABLE main.strategic_fit_audit AS SELECT
    CASE WHEN is_strategic_in_name_only THEN 'strategic_in_name_only' ELSE 'unflagged_aligned' END
        AS audit_finding,
    deal_id, account_id, 'owner ' || (row_number() OVER (ORDER BY deal_id) % 2)::VARCHAR AS owner,
    stage, created_at::DATE AS created_at, alignment_score, alignment_band,
    'segment=enterprise' AS matched_targets, 'region=apac' AS matched_avoids,
    list_amount, final_amount, segment
FROM main.fct_deals
WHERE is_strategic_in_name_only OR (NOT flagged_strategic AND alignment_band = 'aligned');

CREATE TABLE main.alignment_band_outcomes AS SELECT * FROM (VALUES
    (DATE '2022-01-01', 'misaligned', 12, 10, 0.4, 0.1682, 0.6873, 0.18, 21000.0),
    (DATE '2022-01-01', 'partial', 15, 12, 0.5833, 0.3195, 0.8067, 0.12, 34000.0),
    (DATE '2022-01-01', 'aligned', 13, 11, 0.7273, 0.4343, 0.9025, 0.08, 52000.0),
    (DATE '2022-07-01', 'misaligned', 8, 7, 0.2857, 0.0822, 0.6411, 0.21, 18000.0),
    (DATE '2022-07-01', 'aligned', 9, 8, 0.875, 0.5291, 0.9776, 0.06, 61000.0),
    (NULL, 'no_plan', 6, 5, 0.6, 0.2307, 0.8824, 0.1, 30000.0)
) AS t(plan_effective_from, alignment_band, deals, deals_closed, win_rate, win_rate_ci_low,
       win_rate_ci_high, avg_discount_pct, mean_later_account_value);
INSERT INTO main.win_loss (dimension, value, deals_closed, deals_won, deals_lost, win_rate,
    win_rate_ci_low, win_rate_ci_high, value_won, value_lost, is_small_sample) VALUES
    ('alignment_band', 'aligned', 11, 8, 3, 0.7273, 0.4343, 0.9025, 500000.0, 100000.0, true),
    ('alignment_band', 'misaligned', 10, 4, 6, 0.4, 0.1682, 0.6873, 200000.0, 300000.0, true);

CREATE TABLE main.trust_event_study AS SELECT * FROM (VALUES
    ('escalated_over_buyer', 'trust_eroding', 'gross_margin_pct', 'before', 14, 0.31, 120, 0.30, -0.035, -0.061, -0.009, 6),
    ('escalated_over_buyer', 'trust_eroding', 'gross_margin_pct', 'after', 14, 0.275, 120, 0.30, -0.035, -0.061, -0.009, 6),
    ('escalated_over_buyer', 'trust_eroding', 'win_rate', 'before', 14, 0.62, 120, 0.6, -0.13, -0.29, 0.03, 6),
    ('escalated_over_buyer', 'trust_eroding', 'win_rate', 'after', 14, 0.49, 120, 0.6, -0.13, -0.29, 0.03, 6),
    ('joint_planning', 'trust_building', 'gross_margin_pct', 'before', 22, 0.29, 120, 0.30, 0.008, -0.011, 0.027, 6),
    ('joint_planning', 'trust_building', 'gross_margin_pct', 'after', 22, 0.298, 120, 0.30, 0.008, -0.011, 0.027, 6),
    ('joint_planning', 'trust_building', 'win_rate', 'before', 22, 0.6, 120, 0.6, 0.04, -0.08, 0.16, 6),
    ('joint_planning', 'trust_building', 'win_rate', 'after', 22, 0.64, 120, 0.6, 0.04, -0.08, 0.16, 6)
) AS t(event_type, polarity, metric, "window", treated_accounts, treated_value, comparison_accounts,
       comparison_value, difference_in_differences, ci_low, ci_high, window_months);

CREATE TABLE main.escalation_paths AS SELECT * FROM (VALUES
    ('all_escalated', 14, 9, 0.6429, 0.3876, 0.8366, 6, 0.4286, 0.2138, 0.6741, 3.1, 12, 0.31, 0.26, -0.05, 2),
    ('with_takeover', 9, 9, 1.0, 0.7008, 1.0, 6, 0.6667, 0.3542, 0.8794, 2.8, 8, 0.31, 0.24, -0.07, 2),
    ('without_takeover', 5, 0, 0.0, 0.0, 0.4345, 0, 0.0, 0.0, 0.4345, NULL, 4, 0.30, 0.29, -0.01, 2),
    ('with_second_source', 6, 6, 1.0, 0.6097, 1.0, 6, 1.0, 0.6097, 1.0, 3.1, 6, 0.31, 0.22, -0.09, 2)
) AS t(account_group, accounts, accounts_with_takeover, share_with_takeover, share_with_takeover_ci_low,
       share_with_takeover_ci_high, accounts_with_second_source, share_with_second_source,
       share_with_second_source_ci_low, share_with_second_source_ci_high, median_months_to_second_source,
       accounts_with_margin, margin_before_pct, margin_after_pct, margin_change, escalations_censored);

CREATE TABLE main.won_deal_lost_customer AS SELECT * FROM (VALUES
    ('D002', 'A2', 'smb', 'owner 1', DATE '2022-03-10', 18000.0, 2, 'commitment_broken', 7400.0, '$secret'),
    ('D004', 'A4', 'enterprise', 'owner 0', DATE '2022-03-28', 36000.0, 3, 'escalated_over_buyer', 15800.0, '$secret')
) AS t(deal_id, account_id, segment, owner, closed_at, final_amount, trust_eroding_events_after,
       eroding_event_types, value_at_stake, notes);

CREATE TABLE main.cohort_retention AS SELECT * FROM (VALUES
    (2022, 0, 4, 200000.0, 1.0, 1.0), (2022, 1, 4, 200000.0, 1.08, 0.91),
    (2022, 2, 3, 200000.0, 1.15, 0.84), (2023, 0, 3, 90000.0, 1.0, 1.0),
    (2023, 1, 3, 90000.0, 0.97, 0.88)
) AS t(cohort_year, years_since_start, accounts, starting_revenue, net_revenue_retention,
       gross_revenue_retention);

-- Further marts drawn by the pages: competitor response (win/loss), move precedents (trust).
-- Initech was beaten (early: a small 'before'); Globex too, with enough deals on both sides;
-- Hooli never was (no 'after'). The notes column is a planted confidential leak.
CREATE TABLE main.competitor_response AS SELECT * FROM (VALUES
    ('Globex', 'enterprise', 4, DATE '2022-06-30', 60, 12, 0.2, 0.1183, 0.3178, 6, 0.5, 0.1, 0.9,
     240, 96, 0.4, 0.3406, 0.4624, 40, 0.4167, 0.2875, 0.5458, '$secret'),
    ('Initech', 'enterprise', 2, DATE '2022-02-14', 12, 2, 0.1667, 0.0470, 0.4480, 0, 0.0, 0.0, 0.0,
     288, 30, 0.1042, 0.0741, 0.1448, 3, 0.1, 0.0, 0.2132, '$secret'),
    ('Hooli', 'smb', 0, NULL, 50, 5, 0.1, 0.0435, 0.2136, 1, 0.2, 0.0, 0.5920,
     0, 0, NULL, NULL, NULL, 0, NULL, NULL, NULL, '$secret')
) AS t(competitor, segment, wins_against, first_win_at, deals_before, appearances_before,
       appearances_per_deal_before, appearances_per_deal_before_ci_low, appearances_per_deal_before_ci_high,
       price_cuts_before, price_cuts_per_appearance_before, price_cuts_per_appearance_before_ci_low,
       price_cuts_per_appearance_before_ci_high, deals_after, appearances_after, appearances_per_deal_after,
       appearances_per_deal_after_ci_low, appearances_per_deal_after_ci_high, price_cuts_after,
       price_cuts_per_appearance_after, price_cuts_per_appearance_after_ci_low,
       price_cuts_per_appearance_after_ci_high, notes);

CREATE TABLE main.move_precedents AS SELECT * FROM (VALUES
    ('event_type', 'joint_planning', 120, 90, 0.75, 0.6654, 0.8192, 0.55, 0.53, 0.57,
     60, 0.5, 0.4118, 0.5882, 0.45, 0.43, 0.47, 2400, 6),
    ('event_type', 'commitment_broken', 80, 38, 0.475, 0.3692, 0.5832, 0.55, 0.53, 0.57,
     30, 0.375, 0.2782, 0.4829, 0.45, 0.43, 0.47, 2400, 6),
    ('deal_type', 'expansion', 12, 7, 0.5833, 0.3195, 0.8067, 0.55, 0.53, 0.57,
     6, 0.5, 0.2538, 0.7462, 0.45, 0.43, 0.47, 2400, 6)
) AS t(move_kind, move, accounts, accounts_with_trust_building, share_with_trust_building,
       share_with_trust_building_ci_low, share_with_trust_building_ci_high,
       baseline_share_with_trust_building, baseline_share_with_trust_building_ci_low,
       baseline_share_with_trust_building_ci_high, accounts_with_expansion, share_with_expansion,
       share_with_expansion_ci_low, share_with_expansion_ci_high, baseline_share_with_expansion,
       baseline_share_with_expansion_ci_low, baseline_share_with_expansion_ci_high,
       baseline_account_months, window_months);

-- The statistics stage's results (docs/statistics.md), in the tables models.tables registers.
INSERT INTO main.calibration_summary BY NAME
SELECT *, 'none' AS stress, 'adjusted_effect' AS test,
       CASE WHEN world = 'null' THEN rejection_rate END AS false_positive_rate,
       CASE WHEN world = 'null' THEN rejection_rate_ci_low END AS false_positive_rate_ci_low,
       CASE WHEN world = 'null' THEN rejection_rate_ci_high END AS false_positive_rate_ci_high,
       CASE WHEN world = 'planted' THEN rejection_rate END AS power,
       '.venv/bin/python -m models.calibration --worlds 10 --accounts 1500' AS study_command,
       '2026-11-20 14:00:00' AS studied_at
FROM (VALUES
    ('null', 'H1_strategic_alignment', 10, 1500, 0.0, 0.1, 0.0179, 0.4042, 0.2, 0.0567, 0.5098,
     0.8, 0.4902, 0.9433, 0.012, 0.15, 0.012, 3.145),
    ('null', 'H2_trust_eroding_events', 10, 1500, 0.0, 0.0, 0.0, 0.2775, 0.2, 0.0567, 0.5098,
     0.8, 0.4902, 0.9433, -0.001, 0.021, -0.001, 0.067),
    ('planted', 'H1_strategic_alignment', 10, 1500, 0.3, 0.6, 0.3127, 0.8318, 0.6, 0.3127, 0.8318,
     0.8, 0.4902, 0.9433, 0.312, 0.15, 0.012, 3.369),
    ('planted', 'H2_trust_eroding_events', 10, 1500, -0.08, 1.0, 0.7225, 1.0, 1.0, 0.7225, 1.0,
     0.9, 0.5958, 0.9821, -0.081, 0.021, -0.001, 0.086)
) AS t(world, hypothesis, worlds, accounts_per_world, truth, supported_rate, supported_rate_ci_low,
       supported_rate_ci_high, rejection_rate, rejection_rate_ci_low,
       rejection_rate_ci_high, coverage, coverage_ci_low, coverage_ci_high, mean_estimate,
       sd_estimate, bias_adjusted, bias_naive);
-- The study covers several tests; the section checks the adjusted effect's promises only.
INSERT INTO main.calibration_summary (stress, world, hypothesis, test, worlds, accounts_per_world, truth,
    supported_rate, supported_rate_ci_low, supported_rate_ci_high, coverage, coverage_ci_low,
    coverage_ci_high)
VALUES ('none', 'null', 'H1_strategic_alignment', 'placebo', 10, 1500, 0.0, 0.9, 0.5958, 0.9821, 0.1, 0.0179, 0.4042);

-- Ten worlds per kind and hypothesis; offsets of -2.27 and +2.27 standard errors miss the truth.
INSERT INTO main.calibration_worlds BY NAME
SELECT 'none' AS stress, 1500 AS accounts_per_world, world, seed, hypothesis, truth, estimate, estimate - 1.96 * se AS ci_low,
       estimate + 1.96 * se AS ci_high,
       CASE WHEN abs(estimate / se) > 1.96 THEN 0.01 ELSE 0.4 END AS p_value,
       abs(estimate / se) > 1.96 AND sign(estimate) = direction AS supported,
       estimate + naive_shift AS naive_estimate, 1180 + seed % 40 AS n_accounts,
       'adjusted_effect' AS test
FROM (
    SELECT w.world, 1000 + s.i AS seed, h.hypothesis, h.se, h.direction, h.naive_shift,
           CASE WHEN w.world = 'null' THEN 0.0 ELSE h.planted END AS truth,
           CASE WHEN w.world = 'null' THEN 0.0 ELSE h.planted END
               + h.se * (((s.i * 7) % 11) - 5) / 2.2 AS estimate
    FROM (VALUES ('null'), ('planted')) AS w(world)
    CROSS JOIN range(0, 10) AS s(i)
    CROSS JOIN (VALUES ('H1_strategic_alignment', 0.3, 0.15, 1, 3.1),
                       ('H2_trust_eroding_events', -0.08, 0.021, -1, 0.07))
        AS h(hypothesis, planted, se, direction, naive_shift)
);
INSERT INTO main.calibration_worlds (stress, accounts_per_world, world, seed, hypothesis, truth, estimate,
    ci_low, ci_high, p_value, supported, naive_estimate, n_accounts, test)
VALUES ('none', 1500, 'null', 1000, 'H1_strategic_alignment', 0.0, 5.0, 4.0, 6.0, 0.001, true, 5.0, 1200, 'placebo');

INSERT INTO main.model_comparison BY NAME
SELECT *, 'out-of-fold R2 on log(1 + revenue); intervals over 5 folds' AS note,
       CASE learner WHEN 'linear' THEN 'spline ridge' ELSE 'gradient boosting' END AS estimator,
       'account_folds' AS split, 'account-grouped folds' AS method, 'controls and blocks' AS features,
       'revenue' AS outcome, 0 AS random_state
FROM (VALUES
    ('linear', 'baseline', 1190, 5, 0.412, 0.382, 0.442, NULL, NULL, NULL, NULL),
    ('linear', 'baseline+alignment', 1190, 5, 0.43, 0.4, 0.46, 0.018, 0.008, 0.028, 0.001),
    ('linear', 'baseline+trust', 1190, 5, 0.41, 0.38, 0.44, -0.002, -0.01, 0.006, 0.62),
    ('linear', 'all', 1190, 5, 0.429, 0.399, 0.459, 0.017, 0.005, 0.029, 0.005),
    ('nonlinear', 'baseline', 1190, 5, 0.455, 0.425, 0.485, NULL, NULL, NULL, NULL),
    ('nonlinear', 'baseline+alignment', 1190, 5, 0.461, 0.431, 0.491, 0.006, -0.004, 0.016, 0.24),
    ('nonlinear', 'baseline+trust', 1190, 5, 0.453, 0.423, 0.483, -0.002, -0.01, 0.006, 0.62),
    ('nonlinear', 'all', 1190, 5, 0.459, 0.429, 0.489, 0.004, -0.008, 0.016, 0.51)
) AS t(learner, feature_set, n_accounts, n_folds, r2_mean, r2_ci_low, r2_ci_high, gain_vs_baseline,
       gain_ci_low, gain_ci_high, gain_p_value);
INSERT INTO main.model_comparison BY NAME
SELECT 'later_cohorts' AS split, learner, feature_set, 1194 AS n_accounts, 2 AS n_folds, r2_mean, r2_ci_low,
       r2_ci_high, gain_vs_baseline, gain_ci_low, gain_ci_high, gain_p_value, NULL AS note,
       CASE learner WHEN 'linear' THEN 'spline ridge' ELSE 'gradient boosting' END AS estimator,
       'forward-chaining by cohort year: trained on earlier cohorts' AS method,
       'controls and blocks' AS features, 'revenue' AS outcome, 0 AS random_state
FROM (VALUES
    ('linear', 'baseline', 0.22, 0.124, 0.315, NULL, NULL, NULL, NULL),
    ('linear', 'baseline+alignment', 0.211, 0.17, 0.253, -0.0085, -0.0622, 0.0452, 0.854),
    ('linear', 'baseline+trust', 0.202, NULL, NULL, -0.018, NULL, NULL, NULL),
    ('nonlinear', 'baseline', 0.399, -0.941, 1.74, NULL, NULL, NULL, NULL),
    ('nonlinear', 'all', 0.395, -1.0, 1.79, -0.0034, -0.0625, 0.0558, 0.699)
) AS t(learner, feature_set, r2_mean, r2_ci_low, r2_ci_high, gain_vs_baseline, gain_ci_low, gain_ci_high,
       gain_p_value);

INSERT INTO main.feature_importance BY NAME
SELECT *, 'drop in held-out R2 when the group is permuted' AS method, 1 AS n_features, 1190 AS n_accounts,
       'revenue' AS outcome, 0 AS random_state
FROM (VALUES
    ('linear', 'log_employee_count', 'log_employee_count', 'controls', 0.21, 0.17, 0.25, 5, 10, NULL),
    ('linear', 'mean_alignment', 'mean_alignment', 'alignment', 0.012, 0.004, 0.02, 5, 10, NULL),
    ('linear', 'n_trust_eroding_events + 1 correlated', 'n_trust_eroding_events, trust_eroding_severity',
     'trust_eroding', 0.003, -0.002, 0.008, 5, 10, NULL),
    ('nonlinear', 'log_employee_count', 'log_employee_count', 'controls', 0.25, 0.2, 0.3, 5, 10, NULL),
    ('nonlinear', 'mean_alignment', 'mean_alignment', 'alignment', 0.015, 0.006, 0.024, 5, 10, NULL),
    ('nonlinear', 'n_trust_eroding_events + 1 correlated', 'n_trust_eroding_events, trust_eroding_severity',
     'trust_eroding', -0.001, -0.006, 0.004, 5, 10, NULL),
    ('nonlinear', 'n_trust_eroding__commitment_broken', 'n_trust_eroding__commitment_broken',
     'trust_eroding', NULL, NULL, NULL, 5, 10, 'the group does not vary: not in the model')
) AS t(learner, feature_group, features, block, importance_mean, importance_ci_low,
       importance_ci_high, n_folds, n_repeats, note);

INSERT INTO main.account_value_forecast BY NAME SELECT
    'evaluation' AS period, DATE '2025-01-01' AS cutoff_month, 12 AS horizon_months, 0.8 AS interval_level,
    'A' || i::VARCHAR AS account_id, 1000.0 * i AS predicted_value, 700.0 * i AS predicted_low,
    1400.0 * i AS predicted_high, 1000.0 * i + 300.0 * ((i % 3) - 1) AS actual_value
FROM range(1, 30) AS r(i);

INSERT INTO main.permutation_null BY NAME SELECT
    CASE WHEN i % 2 = 0 THEN 'H1_strategic_alignment' ELSE 'H2_trust_eroding_events' END AS hypothesis,
    i AS permutation, ((i * 37) % 100 - 50) / 1000.0 AS statistic,
    CASE WHEN i % 2 = 0 THEN 0.04 ELSE -0.01 END AS observed
FROM range(0, 200) AS r(i);

CREATE TABLE raw.negotiation_events AS SELECT * FROM (VALUES
    ('E1', 'A1', 'D001', DATE '2022-02-01', 'commitment_kept', 'commitment kept', 1, '$secret')
) AS t(event_id, account_id, deal_id, occurred_at, event_type, event_label, severity, notes);
"""


# The registered statistics tables the fixture fills (the others are added by the tests that need them).
FIXTURE_STATISTICS_TABLES = (tables.HYPOTHESIS_TESTS, tables.PERMUTATION_NULL, tables.CALIBRATION_SUMMARY,
                             tables.CALIBRATION_WORLDS, tables.MODEL_COMPARISON, tables.FEATURE_IMPORTANCE,
                             tables.ACCOUNT_VALUE_FORECAST)
PAGE_NAMES = ["index.html", "win_loss.html", "strategic_fit.html", "trust.html", "evidence.html",
              "open_deals.html"]
OPTIONAL_TABLES = (
    "main.loss_drivers", "main.loss_drivers_by_quarter", "main.strategic_fit_audit",
    "main.alignment_band_outcomes", "main.trust_event_study", "main.escalation_paths",
    "main.won_deal_lost_customer", "main.cohort_retention", "main.competitor_response",
    "main.move_precedents", "main.permutation_null", "main.calibration_summary",
    "main.calibration_worlds", "main.model_comparison", "main.feature_importance",
    "main.account_value_forecast",
)


# The dbt models the pages read that are built on the fixture's hand-made tables: compiled by dbt
# once, then created on each fixture warehouse (always a file named warehouse.duckdb, the catalog
# the compiled SQL names) after its tables are final.
DASHBOARD_DBT_MODELS = (("staging", "stg_load_summary", "view"),
                        *(("main", registered.table, "table") for registered in tables.DASHBOARD_MARTS))


@functools.cache
def compiled_dashboard_models() -> tuple[str, ...]:
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "target"
        run_dbt(["compile", "--select", *(model for _, model, _ in DASHBOARD_DBT_MODELS)],
                build_db=Path(tmp) / "warehouse.duckdb", target_path=target)
        compiled = {path.stem: path.read_text() for path in (target / "compiled").rglob("*.sql")}
    return tuple(f"create schema if not exists {schema}; create or replace {kind} {schema}.{model} as "
                 f"{compiled[model]}" for schema, model, kind in DASHBOARD_DBT_MODELS)


def build_dashboard_models(con: duckdb.DuckDBPyConnection) -> None:
    for statement in compiled_dashboard_models():
        con.execute(statement)


def make_warehouse(path: Path, value_source: str = "account_revenue") -> Path:
    assert path.name == "warehouse.duckdb"
    sql = WAREHOUSE_SQL.replace("$value_source", f"'{value_source}'").replace(
        "$secret", SECRET_NOTE
    )
    with duckdb.connect(str(path)) as con:
        con.execute(";".join(registered.ddl() for registered in FIXTURE_STATISTICS_TABLES))
        con.execute(sql)
        build_dashboard_models(con)
    return path


def build(tmp_path: Path, value_source: str = "account_revenue", alter_sql: str = "") -> list[Path]:
    warehouse = make_warehouse(tmp_path / "warehouse.duckdb", value_source)
    with duckdb.connect(str(warehouse)) as con:
        if alter_sql:
            con.execute(alter_sql)
            build_dashboard_models(con)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return build_site(con, tmp_path / "site")


@pytest.fixture(scope="module")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    tmp_path = tmp_path_factory.mktemp("dashboards")
    return tmp_path, build(tmp_path)


@pytest.fixture(scope="module")
def site_data(built_site: tuple[Path, list[Path]]) -> site.SiteData:
    tmp_path, _ = built_site
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        return site.read_site_data(con)


@pytest.fixture(scope="module")
def warehouse_con(built_site):
    tmp_path, _ = built_site
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        yield con


def test_open_deals_page_says_when_the_warehouse_has_no_open_deals_mart(built_site):
    _, pages = built_site
    html = page_text(pages)["open_deals.html"]
    assert "table main.open_deals is not in the warehouse" in html
    assert "<table" not in html


def page_text(pages: list[Path]) -> dict[str, str]:
    return {page.name: page.read_text(encoding="utf-8") for page in pages}


def table_rows(html: str, table_id: str) -> list[list[str]]:
    """The cell texts of one table's body rows (cells hold escaped text only)."""
    table = re.search(rf'<table[^>]*id="{table_id}"[^>]*>(.*?)</table>', html, re.DOTALL).group(1)
    body = table.split("<tbody>", 1)[1]
    return [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body)]


def table_records(html: str, table_id: str) -> list[dict[str, str]]:
    """Body rows as {header: cell text}."""
    table = re.search(rf'<table[^>]*id="{table_id}"[^>]*>(.*?)</table>', html, re.DOTALL).group(1)
    headers = re.findall(r"<th(?:\s[^>]*)?>(.*?)</th>", table.split("<tbody>", 1)[0])
    return [dict(zip(headers, row)) for row in table_rows(html, table_id)]


# --- structure -------------------------------------------------------------------------------

def test_pages_written_index_first_with_one_shared_bundle(built_site):
    tmp_path, pages = built_site
    out_dir = tmp_path / "site"
    assert [page.name for page in pages] == PAGE_NAMES
    assert all(page.is_file() and page.parent == out_dir for page in pages)
    bundles = sorted(path.name for path in out_dir.rglob("*.js"))
    assert bundles == ["plotly.min.js"]
    assert (out_dir / "plotly.min.js").stat().st_size > 1_000_000
    for name, html in page_text(pages).items():
        script_sources = re.findall(r"<script[^>]*\bsrc=\"([^\"]*)\"", html)
        # the Open deals list draws no chart, so it loads no Plotly
        assert script_sources == ([] if name == "open_deals.html" else ["plotly.min.js"]), name


def test_every_page_links_every_page(built_site):
    _, pages = built_site
    for name, html in page_text(pages).items():
        nav = re.search(r"<nav>(.*?)</nav>", html, re.DOTALL).group(1)
        assert re.findall(r'href="([^"]+)"', nav) == PAGE_NAMES, name


def test_pages_reference_nothing_on_the_network(built_site):
    _, pages = built_site
    for name, html in page_text(pages).items():
        assert not re.search(r"<script[^>]*src=[\"']?(https?:)?//", html, re.IGNORECASE), name
        assert not re.search(r"(href|src)=[\"']?(https?:)?//", html, re.IGNORECASE), name
        assert "cdn" not in html.lower(), name


def test_a_retired_page_from_an_older_build_is_removed(tmp_path):
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "accounts.html").write_text("old", encoding="utf-8")
    build(tmp_path)
    assert not (tmp_path / "site" / "accounts.html").exists()


def test_every_section_is_drawn_when_every_table_is_there(built_site):
    _, pages = built_site
    html = page_text(pages)
    # The hand-made warehouse has no open deals mart: that page is checked on real warehouses
    # (test_brief.py) and, without the mart, by the test above.
    assert all('class="unavailable"' not in page for name, page in html.items() if name != "open_deals.html")
    # Charts per page: rejections; win rate, strengths, loss drivers, competitor response,
    # trend, loss trend; band win rate, band outcomes; event study, DiD forest, escalation,
    # move precedents, value histogram, alignment bins, cohorts; forest, null distribution,
    # calibration (promises, every world, bias), power by accounts per world, stress worlds, model
    # comparison, feature importance, predicted vs actual.
    counts = {name: page.count("Plotly.newPlot(") for name, page in html.items()}
    assert counts == {"index.html": 1, "win_loss.html": 6, "strategic_fit.html": 2,
                      "trust.html": 7, "evidence.html": 10, "open_deals.html": 0}


# --- numbers against the warehouse -----------------------------------------------------------

def test_headline_numbers_equal_the_warehouse(built_site, warehouse_con):
    _, pages = built_site
    rate, low, high, won, closed, value_won = warehouse_con.execute(
        "SELECT win_rate, win_rate_ci_low, win_rate_ci_high, deals_won, deals_closed, "
        "value_won FROM main.win_loss WHERE dimension = 'overall'"
    ).fetchone()
    margin, accounts = warehouse_con.execute(
        "SELECT sum(lifetime_gross_margin), count(*) FROM main.account_value").fetchone()
    index = pages[0].read_text(encoding="utf-8")
    card = re.search(r'id="headline-win-rate">(.*?)</div></div>', index, re.DOTALL).group(1)
    for expected in (f"{rate * 100:.1f}%", f"{low * 100:.1f}%", f"{high * 100:.1f}%",
                     f"{won} won of {closed} closed"):
        assert expected in card
    value_card = re.search(r'id="headline-value-won">(.*?)</div></div>', index, re.DOTALL).group(1)
    assert f"{value_won:,.0f}" in value_card
    relationship = re.search(r'id="headline-relationship-value">(.*?)</div></div>', index,
                             re.DOTALL).group(1)
    assert f"{margin:,.0f}" in relationship
    assert f"of {accounts:,} accounts active" in relationship


def test_index_describes_coverage_and_rejections(built_site, warehouse_con):
    _, pages = built_site
    index = pages[0].read_text(encoding="utf-8")
    first_created, last_closed, deals = warehouse_con.execute(
        "SELECT min(created_at), max(closed_at), count(*) FROM main.fct_deals"
    ).fetchone()
    reasons = warehouse_con.execute(
        "SELECT source, reason, count(*) FROM main.rejected_rows GROUP BY ALL").fetchall()
    assert str(first_created.date() if hasattr(first_created, "date") else first_created) in index
    assert str(last_closed.date() if hasattr(last_closed, "date") else last_closed) in index
    assert f"{deals:,} deals" in index
    assert sorted(tuple(row) for row in table_rows(index, "rejections-table")) == sorted(
        (source, reason, str(count)) for source, reason, count in reasons)
    deals_row = r"<td[^>]*>deals</td><td[^>]*>deals.csv</td><td>43</td><td>40</td><td>3</td>"
    assert re.search(deals_row, index)


def test_loss_drivers_table_equals_the_warehouse(built_site, warehouse_con):
    _, pages = built_site
    rows = table_records(page_text(pages)["win_loss.html"], "loss-drivers-table")
    expected = warehouse_con.execute(
        "SELECT driver_kind, driver, value_lost, share_of_value_lost FROM main.loss_drivers "
        "ORDER BY driver_kind, expected_value_lost DESC").fetchall()
    assert [(r["driver kind"], r["driver"], r["value lost"], r["share of value lost"])
            for r in rows] == [
        (kind, html_escape(driver), f"{value:,.0f}", f"{share * 100:.1f}%")
        for kind, driver, value, share in expected]


def test_strategic_in_name_only_list_equals_the_warehouse(built_site, warehouse_con):
    _, pages = built_site
    html = page_text(pages)["strategic_fit.html"]
    expected = warehouse_con.execute(
        "SELECT deal_id, list_amount FROM main.strategic_fit_audit "
        "WHERE audit_finding = 'strategic_in_name_only' ORDER BY list_amount DESC").fetchall()
    rows = table_records(html, "in-name-only-table")
    assert [(r["deal id"], r["list amount"]) for r in rows] == [(deal, f"{amount:,.0f}") for deal, amount in expected]
    summary = re.search(r'id="audit-summary">(.*?)</p>', html, re.DOTALL).group(1)
    assert f"<strong>{len(expected):,}</strong> deals are flagged strategic" in summary
    assert f"{sum(amount for _, amount in expected):,.0f}" in summary


def test_band_outcomes_and_escalation_tables_equal_the_warehouse(built_site, warehouse_con):
    _, pages = built_site
    html = page_text(pages)
    bands = table_records(html["strategic_fit.html"], "band-outcomes-table")
    expected = warehouse_con.execute(
        "SELECT alignment_band, win_rate FROM main.alignment_band_outcomes").fetchall()
    assert sorted((r["alignment band"], r["win rate"]) for r in bands) == sorted(
        (band, f"{rate * 100:.1f}%") for band, rate in expected)
    paths = table_records(html["trust.html"], "escalation-table")
    expected = warehouse_con.execute(
        "SELECT account_group, accounts, share_with_second_source FROM main.escalation_paths"
    ).fetchall()
    assert [(r["account group"], r["accounts"], r["share with second source"]) for r in paths] == [
        (group, str(accounts), f"{share * 100:.1f}%") for group, accounts, share in expected]


def test_won_deal_lost_customer_total_equals_the_warehouse(built_site, warehouse_con):
    _, pages = built_site
    (stake, deals) = warehouse_con.execute(
        "SELECT sum(value_at_stake), count(*) FROM main.won_deal_lost_customer").fetchone()
    summary = re.search(r'id="won-lost-summary">(.*?)</p>', page_text(pages)["trust.html"]).group(1)
    assert summary.startswith(f"{deals:,} won deals") and f"{stake:,.0f}" in summary


def html_escape(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# --- confidentiality and escaping ------------------------------------------------------------

def test_confidential_notes_never_shown(built_site):
    _, pages = built_site
    for name, html in page_text(pages).items():
        assert SECRET_NOTE not in html, name
        assert "budget-is-42k" not in html, name


def test_no_read_selects_a_confidential_column(site_data):
    frames = [value for value in vars(site_data).values() if isinstance(value, pd.DataFrame)]
    columns = {column for frame in frames for column in frame.columns}
    assert not columns & reads.CONFIDENTIAL_COLUMNS


def test_category_labels_are_escaped(built_site):
    _, pages = built_site
    html = page_text(pages)["win_loss.html"]
    assert HOSTILE_LABEL not in html.split("Plotly.newPlot(")[0]
    assert "&lt;b&gt;Acme &amp; Co&lt;/b&gt;" in html  # listed as having no closed deals
    assert "<td>&lt;b&gt;Acme &amp; Co&lt;/b&gt;</td>" in html.replace(' class="text"', "")


@pytest.mark.parametrize("value_source", ["won_deals", "account_revenue"])
def test_won_deals_disclosure_iff_value_source_says_so(tmp_path, value_source):
    html = page_text(build(tmp_path, value_source))
    derived = value_source == "won_deals"
    for name in ("index.html", "trust.html"):
        assert (site.DISCLOSURE_ID in html[name]) is derived, name
        assert ("derived from won deals" in html[name].lower()) is derived, name
    assert "derived from won deals" not in html["win_loss.html"].lower()


# --- degrading gracefully --------------------------------------------------------------------

def test_without_the_newer_tables_every_page_says_what_is_missing(tmp_path):
    drops = "".join(f"DROP TABLE {table};" for table in OPTIONAL_TABLES)
    drops += ("ALTER TABLE main.win_loss DROP COLUMN win_rate_diff_vs_overall;"
              "ALTER TABLE main.win_loss DROP COLUMN diff_p_value;"
              "ALTER TABLE main.win_loss DROP COLUMN strength_rank;")
    html = page_text(build(tmp_path, alter_sql=drops))
    missing = {name: re.findall(r'class="unavailable" data-missing="([^"]+)"', page)
               for name, page in html.items()}
    assert missing == {
        "index.html": [],
        "win_loss.html": ["main.win_loss", "main.loss_drivers", "main.competitor_response",
                          "main.loss_drivers_by_quarter"],
        "strategic_fit.html": ["main.alignment_band_outcomes", "main.strategic_fit_audit"],
        "trust.html": ["main.trust_event_study", "main.escalation_paths",
                       "main.won_deal_lost_customer", "main.move_precedents", "main.cohort_retention"],
        "evidence.html": ["main.permutation_null", "main.calibration_summary", "main.calibration_worlds",
                          "main.model_comparison", "main.feature_importance",
                          "main.account_value_forecast"],
        "open_deals.html": ["main.open_deals"],
    }
    assert ("Not available yet: the trust event study (table main.trust_event_study is not in "
            "the warehouse).") in html["trust.html"]
    # What does not depend on the newer tables is still drawn.
    assert html["win_loss.html"].count("Plotly.newPlot(") == 2
    assert html["trust.html"].count("Plotly.newPlot(") == 2
    assert html["evidence.html"].count("Plotly.newPlot(") == 1


def test_a_missing_column_is_named_not_fatal(tmp_path):
    html = page_text(build(tmp_path, alter_sql="ALTER TABLE main.loss_drivers DROP COLUMN value_lost;"))
    assert "main.loss_drivers has no column(s) value_lost" in html["win_loss.html"]


def test_an_empty_table_is_said_to_be_empty(tmp_path):
    html = page_text(build(tmp_path, alter_sql="DELETE FROM main.strategic_fit_audit;"))
    assert "Nothing to show: the table holding the strategic-fit audit" in html["strategic_fit.html"]


@pytest.mark.parametrize("alter_sql, message", [
    ("ALTER TABLE main.hypothesis_tests RENAME COLUMN unit TO units;", "main.hypothesis_tests has no column(s) unit"),
    ("ALTER TABLE main.model_comparison RENAME COLUMN r2_mean TO r2;", "main.model_comparison has no column(s) r2_mean"),
    ("ALTER TABLE main.feature_importance RENAME COLUMN importance_mean TO importance;",
     "main.feature_importance has no column(s) importance_mean"),
    ("ALTER TABLE main.calibration_summary RENAME COLUMN worlds TO n_worlds;",
     "main.calibration_summary has no column(s) worlds"),
])
def test_a_statistics_table_not_written_from_the_registry_fails_loudly(tmp_path, alter_sql, message):
    """Another spelling of a registered column is not tolerated: the writer and the registry disagree."""
    with pytest.raises(reads.MissingWarehouseData, match=re.escape(message)):
        build(tmp_path, alter_sql=alter_sql)


def test_a_misspelt_registered_column_in_a_read_fails_loudly(warehouse_con):
    with pytest.raises(tables.UnknownColumn, match="r2_means"):
        reads.read_registered(warehouse_con, tables.MODEL_COMPARISON, ["learner", "r2_means"])
    read = reads.read_registered(warehouse_con, tables.MODEL_COMPARISON, ["learner", "r2_mean"])
    assert list(read.columns) == ["learner", "r2_mean"] and read.attrs["table"] == "main.model_comparison"


def test_missing_hypothesis_table_is_stated_not_fatal(tmp_path):
    html = page_text(build(tmp_path, alter_sql="DROP TABLE main.hypothesis_tests;"))
    assert "no hypothesis test results" in html["index.html"]
    assert "main.hypothesis_tests holds no estimates" in html["evidence.html"]


def test_missing_required_table_names_it(tmp_path):
    with pytest.raises(reads.MissingWarehouseData, match="main.win_loss"):
        build(tmp_path, alter_sql="DROP TABLE main.win_loss;")


def test_without_an_overall_row_the_rate_is_stated_unavailable(tmp_path):
    html = page_text(
        build(tmp_path, alter_sql="DELETE FROM main.win_loss WHERE dimension = 'overall';")
    )
    assert "win_loss has no overall row" in html["index.html"]
    assert "company rate is not available" in html["win_loss.html"]
    assert "headline-win-rate" not in html["index.html"]


# --- verdicts and filters --------------------------------------------------------------------

def test_hypothesis_verdicts_are_the_sentences_the_statistics_stage_wrote(built_site, warehouse_con):
    _, pages = built_site
    tests = warehouse_con.execute("SELECT * FROM main.hypothesis_tests").df()
    evidence = page_text(pages)["evidence.html"]
    verdicts = evidence.split("<h3>Verdicts</h3>", 1)[1].split("</ul>", 1)[0]
    items = re.findall(r"<li[^>]*>(.*?)</li>", verdicts, re.DOTALL)
    assert sorted(items) == sorted(html_escape(v) for v in tests["verdict"])
    highlighted = re.findall(r'<li class="supported">(.*?)</li>', verdicts, re.DOTALL)
    assert highlighted == [html_escape(v) for v in tests.loc[tests["conclusion"] == "supported", "verdict"]]
    overview = re.findall(r"<li[^>]*>(.*?)</li>", page_text(pages)["index.html"], re.DOTALL)
    adjusted = tests[tests["test"] == "adjusted_effect"]
    assert all(html_escape(v) in overview for v in adjusted["verdict"])


def test_a_verdict_from_the_statistics_stage_is_used_as_written(tmp_path):
    html = page_text(build(tmp_path, alter_sql=(
        "UPDATE main.hypothesis_tests SET verdict = 'Accounts that fit the strategy were worth more.' "
        "WHERE hypothesis = 'strategic_alignment' AND test = 'adjusted_effect';")))
    assert "Accounts that fit the strategy were worth more." in html["index.html"]


def test_effect_sizes_and_robustness_are_shown_and_only_a_supported_conclusion_is_highlighted(tmp_path):
    html = page_text(build(tmp_path, alter_sql=(
        "UPDATE main.hypothesis_tests SET treatment_sd = 0.24, estimate_per_sd = 0.0797, ci_low_per_sd = 0.0159, "
        "ci_high_per_sd = 0.1436, mde_80_per_sd = 0.0911, robustness_value = 0.0707, robustness_value_alpha = 0.0145, "
        "e_value = 1.383, e_value_ci = 1.144, benchmark_control = 'log_employee_count', "
        "benchmark_r2_treatment = 0.004, benchmark_r2_outcome = 0.477, benchmark_adjusted_estimate = 0.13, "
        "benchmark_adjusted_ci_low = -0.14, benchmark_adjusted_ci_high = 0.40, conclusion = 'could_be_hidden_factor', "
        "verdict = 'A hidden factor could explain it.' "
        "WHERE hypothesis = 'strategic_alignment' AND test = 'adjusted_effect';")))
    evidence = html["evidence.html"]
    table = evidence.split('id="effect-size-table"', 1)[1].split("</table>", 1)[0]
    assert "could be hidden factor" in table and "+8.3% (+1.6% to +15.4%)" in table
    assert "9.5%" in table and "7.1% (1.5%)" in table and "1.38 (1.14)" in table
    assert "log_employee_count: 0.4% / 47.7%" in table and "+13.9% (-13.1% to +49.2%)" in table
    # the row's `supported` is true, but its conclusion is not 'supported': not highlighted
    verdicts = evidence.split("<h3>Verdicts</h3>", 1)[1].split("</ul>", 1)[0]
    assert '<li class="">A hidden factor could explain it.</li>' in verdicts


def test_lists_carry_filters_for_owner_segment_and_period(built_site, warehouse_con):
    _, pages = built_site
    html = page_text(pages)["strategic_fit.html"]
    owners = sorted(o for (o,) in warehouse_con.execute(
        "SELECT DISTINCT owner FROM main.strategic_fit_audit "
        "WHERE audit_finding = 'strategic_in_name_only'").fetchall())
    select = re.search(r'<select data-table="in-name-only-table" data-column="owner">(.*?)</select>',
                       html).group(1)
    assert re.findall(r'<option value="([^"]+)">', select) == ["__all__", *owners]
    for column in ("segment", "stage", "created-year"):
        assert f'data-table="in-name-only-table" data-column="{column}"' in html
    assert "function apply(tableId)" in html  # the filter script, inline


# --- figures ---------------------------------------------------------------------------------

def assert_has_data(figure: go.Figure) -> None:
    assert figure.data, "figure has no traces"
    for trace in figure.data:
        values = trace.x if trace.x is not None else trace.y
        assert values is not None and len(values) > 0, trace.name


def test_figures_have_data(site_data):
    _, by_dimension = split_overall(site_data.win_loss)
    for dimension, rows in by_dimension.groupby("dimension"):
        if rows["win_rate"].notna().any():
            assert_has_data(win_rate_figure(rows, str(dimension), 0.65))
    assert_has_data(win_rate_by_dimension_figure(by_dimension, 0.65))
    assert_has_data(rejected_rows_figure(site_data.rejection_counts))
    assert_has_data(account_value_histogram_figure(site_data.account_value_bins, "t", "x"))
    assert_has_data(alignment_value_figure(site_data.alignment_value_bins))
    assert_has_data(competitor_response_figure(site_data.competitor_response))
    assert_has_data(move_precedents_figure(site_data.move_precedents))
    assert_has_data(calibration_checks_figure(site_data.calibration_summary))
    assert_has_data(calibration_worlds_figure(site_data.calibration_worlds))
    assert_has_data(calibration_bias_figure(site_data.calibration_summary))
    assert_has_data(model_comparison_figure(site_data.model_comparison))
    assert_has_data(feature_importance_figure(site_data.feature_importance))
    assert_has_data(hypothesis_forest_figure(site_data.hypothesis_tests))
    assert_has_data(band_outcomes_figure(site_data.alignment_band_outcomes))
    assert_has_data(event_study_figure(site_data.trust_event_study))
    assert_has_data(escalation_path_figure(site_data.escalation_paths))
    assert_has_data(cohort_retention_figure(site_data.cohort_retention))
    assert_has_data(loss_trend_figure(site_data.loss_drivers_by_quarter))


def test_dimension_dropdown_has_one_choice_per_dimension(site_data):
    _, by_dimension = split_overall(site_data.win_loss)
    figure = win_rate_by_dimension_figure(by_dimension, 0.65)
    drawable = sorted(by_dimension.loc[by_dimension["win_rate"].notna(), "dimension"].unique())
    labels = [button.label for button in figure.layout.updatemenus[0].buttons]
    assert labels[0] == "segment"
    assert sorted(labels) == sorted(d.replace("_", " ") for d in drawable)
    first_visible = {trace.y[0] for trace in figure.data if trace.visible}
    segment = set(by_dimension.loc[by_dimension["dimension"] == "segment", "value"])
    assert first_visible <= segment


def test_small_samples_are_marked_not_hidden(site_data):
    segment = site_data.win_loss[site_data.win_loss["dimension"] == "segment"]
    figure = win_rate_figure(segment, "segment", 0.65)
    shown = {value for trace in figure.data for value in trace.y}
    assert shown == set(segment["value"])
    small_trace = next(trace for trace in figure.data if "small sample" in trace.name)
    assert list(small_trace.y) == list(segment.loc[segment["is_small_sample"], "value"])
    assert small_trace.marker.symbol == "circle-open"


def test_company_rate_is_the_reference_line(site_data):
    segment = site_data.win_loss[site_data.win_loss["dimension"] == "segment"]
    figure = win_rate_figure(segment, "segment", 0.65)
    lines = [shape for shape in figure.layout.shapes if shape.type == "line"]
    assert [(line.x0, line.x1) for line in lines] == [(0.65, 0.65)]
    error_bars = figure.data[0].error_x
    adequate = segment[~segment["is_small_sample"]].sort_values("value", ascending=False)
    assert list(error_bars.array) == pytest.approx(
        list(adequate["win_rate_ci_high"] - adequate["win_rate"])
    )


def test_strengths_are_the_cells_flagged_after_fdr_control(built_site, warehouse_con):
    _, pages = built_site
    html = page_text(pages)["win_loss.html"]
    rows = table_records(html, "strengths-table")
    expected = warehouse_con.execute(
        "SELECT value, win_rate_diff_vs_overall FROM main.win_loss "
        "WHERE is_strength OR is_weakness ORDER BY win_rate_diff_vs_overall DESC").fetchall()
    assert [(r["value"], r["vs company"]) for r in rows] == [(v, f"{d * 100:+.1f} pts") for v, d in expected]
    # Fewer than the cells with p < 0.05 (renewal and mid_market do not survive the correction).
    uncorrected = warehouse_con.execute("SELECT count(*) FROM main.win_loss WHERE diff_p_value < 0.05").fetchone()[0]
    assert len(rows) < uncorrected
    tested, by_chance = warehouse_con.execute(
        "SELECT any_value(cells_tested), any_value(flags_expected_by_chance_uncorrected) FROM main.win_loss").fetchone()
    summary = re.search(r'id="strengths-summary">(.*?)</p>', html, re.DOTALL).group(1)
    assert "after FDR control" in summary and f"all {tested:,} cells tested" in summary
    assert f"about {by_chance:.1f} cells by chance alone" in summary


def test_loss_priorities_named_by_expected_value(built_site):
    _, pages = built_site
    html = page_text(pages)["win_loss.html"]
    sentence = re.search(r'id="loss-priorities">(.*?)</p>', html, re.DOTALL).group(1)
    # 'missing feature' leads by expected value (140,000) though 'price' leads at list (410,000).
    assert sentence.startswith("Top priorities by expected value lost: loss reasons")
    assert sentence.index("missing feature") < sentence.index("price")
    assert "140,000; 150,000 at list price" in sentence and "competitor" in sentence and "Globex" in sentence


def test_forest_plot_has_one_panel_per_test_and_every_estimate(site_data):
    tests = site_data.hypothesis_tests
    figure = hypothesis_forest_figure(tests)
    plotted = pd.Series([x for trace in figure.data for x in trace.x])
    assert sorted(plotted) == sorted(tests["estimate"])
    assert {trace.xaxis for trace in figure.data} == {"x", "x2"}  # two kinds of test, two panels


def test_event_study_shows_before_and_after_with_the_warehouse_difference(site_data):
    study = site_data.trust_event_study
    figure = event_study_figure(study)
    visible = [trace for trace in figure.data if trace.visible]
    first_type = sorted(study["event_type"].unique())[0]
    rows = study[study["event_type"] == first_type]
    assert {tuple(trace.x) for trace in visible} == {("before", "after")}
    treated = sorted(y for trace in visible if trace.name == "with the event" for y in trace.y)
    assert treated == sorted(rows["treated_value"])
    did = rows["difference_in_differences"].iloc[0]
    # Both fixture measures are shares: their differences read as percentage points.
    assert any(f"DiD {did * 100:+.1f} pts" in annotation.text for annotation in figure.layout.annotations)
    assert len(figure.layout.updatemenus[0].buttons) == study["event_type"].nunique()


def test_dashboards_do_not_import_dagster():
    # A fresh interpreter: this test session may already hold Dagster from other test files.
    probe = "import sys, dashboards; print([m for m in sys.modules if m.startswith('dagster')])"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


# --- binned account charts, competitor response, move precedents, statistics --------

def test_binned_account_charts_count_every_account(site_data, warehouse_con):
    accounts = warehouse_con.execute("SELECT * FROM main.account_value").df()
    by_segment = accounts["segment"].value_counts()
    value_bins, alignment_bins = site_data.account_value_bins, site_data.alignment_value_bins
    for bins in (value_bins, alignment_bins):
        totals = bins.groupby("view")["accounts"].sum()
        assert totals["all segments"] == len(accounts)
        assert {k: v for k, v in totals.items() if k != "all segments"} == by_segment.to_dict()
    # The histogram's visible bars (all segments) plus the accounts it cannot place add up.
    histogram = account_value_histogram_figure(value_bins, "t", "x")
    drawn = sum(sum(trace.y) for trace in histogram.data if trace.visible)
    unplaced = value_bins[(value_bins["view"] == "all segments") & value_bins["bin"].isna()
                          & ~value_bins["is_zero_or_less"]]["accounts"].sum()
    assert drawn + unplaced == len(accounts)
    zero_bar = (accounts["lifetime_gross_margin"] <= 0).sum()
    assert zero_bar > 0 and value_bins.loc[value_bins["is_zero_or_less"]
                                           & (value_bins["view"] == "all segments"), "accounts"].sum() == zero_bar
    # Alignment: the count bars hold every account with an alignment; each bin's mean is the
    # mean of its accounts' values.
    alignment = alignment_value_figure(alignment_bins)
    counted = sum(sum(trace.y) for trace in alignment.data if trace.visible and trace.type == "bar")
    placed = accounts[accounts["mean_alignment"].notna()]
    assert counted == len(placed)
    assert f"{len(accounts) - len(placed)} of {len(accounts)} accounts has no alignment" in \
        alignment.layout.title.subtitle.text
    placed = placed.assign(bin=(placed["mean_alignment"] * 10 + 1e-9).apply(math.floor).clip(-10, 9))
    expected = placed.groupby("bin")["lifetime_gross_margin"].mean()
    shown = alignment_bins[(alignment_bins["view"] == "all segments") & alignment_bins["bin"].notna()]
    assert dict(zip(shown["bin"].astype(int), shown["mean_value"])) == pytest.approx(expected.to_dict())


def test_trust_page_size_does_not_grow_with_the_accounts(tmp_path):
    def more_accounts(count: int) -> str:
        return f"""
            INSERT INTO main.account_value (account_id, segment, deals_won, lifetime_revenue,
                lifetime_gross_margin, mean_alignment, is_active, value_source)
            SELECT 'B' || i::VARCHAR,
                   CASE i % 3 WHEN 0 THEN 'enterprise' WHEN 1 THEN 'mid_market' ELSE 'smb' END,
                   i % 4, 1000.0 * (i % 500), 100.0 + 250.0 * (i % 400), ((i % 200) - 100) / 100.0,
                   i % 2 = 0, 'account_revenue'
            FROM range(0, {count}) AS r(i);
        """

    sizes = []
    for count in (10_000, 40_000):
        (tmp_path / str(count)).mkdir()
        sizes.append(build(tmp_path / str(count), alter_sql=more_accounts(count))[3].stat().st_size)
    # 30,000 more accounts of the same kinds: one point each would add ~1 MB; bins do not.
    assert abs(sizes[1] - sizes[0]) < 2_000, sizes


def test_competitor_response_equals_the_warehouse(built_site, warehouse_con):
    _, pages = built_site
    html = page_text(pages)["win_loss.html"]
    rows = table_records(html, "competitor-response-table")
    expected = warehouse_con.execute(
        "SELECT competitor, segment, deals_before, appearances_per_deal_before, "
        "appearances_per_deal_before_ci_low, appearances_per_deal_before_ci_high, deals_after, "
        "appearances_per_deal_after, appearances_per_deal_after_ci_low, appearances_per_deal_after_ci_high "
        "FROM main.competitor_response ORDER BY segment, competitor").fetchall()
    pct = format_pct
    cells = []
    for competitor, segment, n_before, before, b_low, b_high, n_after, after, a_low, a_high in expected:
        small = ", small sample" if n_before < SMALL_SAMPLE else ""
        cells.append((competitor, segment, f"{n_before:,}",
                      f"{pct(before)} ({pct(b_low)} to {pct(b_high)}){small}"))
        if n_after:
            cells.append((competitor, segment, f"{n_after:,}", f"{pct(after)} ({pct(a_low)} to {pct(a_high)})"))
    assert [(r["competitor"], r["segment"], r["deals"], r["it appears on (95% interval)"]) for r in rows] == cells
    initech_before = next(r for r in rows if r["competitor"] == "Initech"
                          and r["when (our first win)"].startswith("before"))
    assert initech_before["price cuts per 100 deals it is on (95% interval)"].endswith("small sample")
    summary = re.search(r'id="competitor-response-summary">(.*?)</p>', html).group(1)
    assert summary.startswith("We have beaten the competitor in 2 competitor-segment pairs.")
    assert ("clearly higher after our first win in 1, clearly lower in 0, no clear change in 0; "
            "1 pair with fewer than 30 deals on one side left out") in summary
    assert "1 pair without a win against the competitor has no &#x27;after&#x27;" in summary


def test_move_precedents_equal_the_warehouse(built_site, warehouse_con):
    _, pages = built_site
    html = page_text(pages)["trust.html"]
    rows = {r["move"]: r for r in table_records(html, "move-precedents-table")}
    expected = warehouse_con.execute(
        "SELECT move_kind, move, accounts, share_with_trust_building, share_with_trust_building_ci_low, "
        "share_with_trust_building_ci_high, baseline_share_with_expansion FROM main.move_precedents").fetchall()
    pct = format_pct
    for kind, move, accounts, share, low, high, baseline in expected:
        row = rows[move_label(kind, move)]
        small = ", small sample" if accounts < SMALL_SAMPLE else ""
        assert row["accounts"] == f"{accounts:,}"
        assert row["trust-building event after (95% interval)"] == f"{pct(share)} ({pct(low)} to {pct(high)}){small}"
        assert f"After an arbitrary month, {pct(baseline)} of accounts had a new expansion deal" in \
            re.search(r'id="move-precedents-summary">(.*?)</p>', html).group(1)
    summary = re.search(r'id="move-precedents-summary">(.*?)</p>', html).group(1)
    assert ("After an arbitrary month, 55.0% of accounts had a trust-building event within 6 months. "
            "More often after: joint planning. Less often after: none.") in summary
    assert "1 move rests on fewer than 30 accounts" in summary


def test_calibration_section_states_the_study_and_its_numbers(built_site, site_data, warehouse_con):
    _, pages = built_site
    html = page_text(pages)["evidence.html"]
    study = re.search(r'id="calibration-study">(.*?)</p>', html).group(1)
    assert "10 no-effect and 10 planted-effect worlds of 1,500 accounts each" in study
    assert "Produced by: .venv/bin/python -m models.calibration --worlds 10 --accounts 1500 (run 2026-11-20)." in study
    findings = re.findall(r"<li>(.*?)</li>", re.search(r'id="calibration-findings">(.*?)</ul>', html).group(1))
    rate, low, high = warehouse_con.execute(
        "SELECT supported_rate, supported_rate_ci_low, supported_rate_ci_high FROM main.calibration_summary "
        "WHERE world = 'null' AND hypothesis = 'H1_strategic_alignment'").fetchone()
    pct = format_pct
    assert (f"False alarms, H1 strategic alignment: in 10 worlds with no real effect, the verdict "
            f"&#x27;supported&#x27; came out in {pct(rate)} (95% interval {pct(low)} to {pct(high)}): "
            "consistent with the promised 5% at most.") in findings[0]
    assert any(item.startswith("Power, H2 trust eroding events: with a planted effect of -0.08, the "
                               "verdict was &#x27;supported&#x27; in 100.0% (95% interval 72.2% to 100.0%)")
               for item in findings)
    coverage = [item for item in findings if item.startswith("Coverage")]
    assert len(coverage) == 4 and coverage[-1] == (
        "Coverage, H2 trust eroding events, planted-effect worlds: the 95% interval contained the true "
        "effect in 90.0% (95% interval 59.6% to 98.2%) of 10 worlds. Promised: 95%; consistent with the promise.")
    assert all("below the promise: the intervals look too narrow" in item for item in coverage[:3])
    # The chart: false alarms, power and coverage against their lines.
    figure = calibration_checks_figure(site_data.calibration_summary)
    supported = [trace for trace in figure.data if trace.name == "verdict 'supported'"]
    null_rates = warehouse_con.execute(
        "SELECT supported_rate FROM main.calibration_summary WHERE world = 'null'").fetchall()
    assert sorted(supported[0].x) == sorted(float(rate) for (rate,) in null_rates)
    assert sorted(shape.x0 for shape in figure.layout.shapes) == [0.05, 0.8, 0.95]
    table = table_records(html, "calibration-table")
    assert [(r["worlds"], r["hypothesis"], r["coverage (95% interval)"]) for r in table][0] == (
        "no-effect worlds", "H1 strategic alignment", "80.0% (49.0% to 94.3%)")


def test_every_simulated_world_is_drawn_with_misses_in_red(site_data, warehouse_con):
    figure = calibration_worlds_figure(site_data.calibration_worlds)
    markers = [trace for trace in figure.data if trace.mode == "markers"]
    assert sum(len(trace.y) for trace in markers) == len(site_data.calibration_worlds)
    (misses,) = warehouse_con.execute(
        "SELECT count(*) FROM main.calibration_worlds WHERE NOT (truth BETWEEN ci_low AND ci_high)").fetchone()
    red = [trace for trace in markers if trace.name == "interval misses the true effect"]
    assert misses > 0 and sum(len(trace.y) for trace in red) == misses
    truths = {round(trace.y[0], 6) for trace in figure.data if trace.name == "true effect"}
    assert truths == {0.0, 0.3, -0.08}
    assert len(figure.layout.annotations) == 4  # one panel per hypothesis and world kind


def test_model_comparison_sentence_and_table_equal_the_warehouse(built_site, warehouse_con):
    _, pages = built_site
    html = page_text(pages)["evidence.html"]
    verdict = re.search(r'id="model-comparison-verdict"><strong>(.*?)</strong>', html).group(1)
    assert verdict == (
        "Adding strategic alignment improves prediction for the linear model (+0.018 R², 95% CI "
        "+0.008 to +0.028) but does not clearly change prediction for the nonlinear model (+0.006 R², "
        "95% CI -0.004 to +0.016); adding trust events does not clearly change prediction for either "
        "model (linear: -0.002 R², 95% CI -0.01 to +0.006; nonlinear: -0.002 R², 95% CI -0.01 to +0.006).")
    rows = {(r["model"], r["features"]): r for r in table_records(html, "model-comparison-table")}
    for learner, feature_set, r2 in warehouse_con.execute(
            "SELECT learner, feature_set, r2_mean FROM main.model_comparison WHERE split = 'account_folds'"
    ).fetchall():
        assert rows[(learner, feature_set_label(feature_set))]["out-of-fold R²"] == format_number(r2)
    assert "Note: out-of-fold R2 on log(1 + revenue); intervals over 5 folds" in html
    assert "<li>linear model: spline ridge</li>" in html


def test_later_cohort_rows_are_a_table_of_their_own_equal_to_the_warehouse(built_site, site_data, warehouse_con):
    _, pages = built_site
    html = page_text(pages)["evidence.html"]
    assert "Trained on earlier cohorts, tested on later ones" in html
    rows = table_records(html, "later-cohorts-table")
    expected = warehouse_con.execute(
        "SELECT learner, feature_set, r2_mean, r2_ci_low, r2_ci_high, gain_vs_baseline, gain_ci_low, gain_ci_high, "
        "gain_p_value, n_folds FROM main.model_comparison WHERE split = 'later_cohorts'").fetchall()
    assert len(rows) == len(expected) == 5
    shown = {(r["model"], r["features"]): r for r in rows}
    fmt, signed = format_number, format_signed_number
    for learner, feature_set, r2, low, high, gain, gain_low, gain_high, p, folds in expected:
        row = shown[(learner, feature_set_label(feature_set))]
        assert row["R² on later cohorts"] == fmt(r2) and row["test cohorts"] == str(folds)
        assert row["95% interval"] == (NOT_AVAILABLE if low is None else f"{fmt(low)} to {fmt(high)}")
        if gain is None:
            assert row["gain over baseline"] == "-"
        else:
            assert row["gain over baseline"] == signed(gain)
            assert row["gain 95% interval"] == (NOT_AVAILABLE if gain_low is None
                                                else f"{signed(gain_low)} to {signed(gain_high)}")
            assert row["gain p-value"] == (NOT_AVAILABLE if p is None else f"{p:.3f}")
    assert "Method: forward-chaining by cohort year: trained on earlier cohorts" in html
    # the later-cohort rows stay out of the account-fold chart, table and sentence
    assert len(table_records(html, "model-comparison-table")) == 8
    figure = model_comparison_figure(site_data.model_comparison)
    assert sorted(x for trace in figure.data for x in trace.x if x is not None) == sorted(
        v for (v,) in warehouse_con.execute(
            "SELECT CAST(unnest([r2_mean, gain_vs_baseline]) AS DOUBLE) AS v FROM main.model_comparison "
            "WHERE split = 'account_folds'").fetchall() if v is not None)
    # an older warehouse without the split column: every row is an account-fold row, no later table
    old = comparison_split(site_data.model_comparison.drop(columns=["split"]), ACCOUNT_FOLDS)
    assert len(old) == len(site_data.model_comparison)
    assert comparison_split(site_data.model_comparison.drop(columns=["split"]), LATER_COHORTS).empty


def test_feature_importance_equals_the_warehouse(built_site, site_data, warehouse_con):
    _, pages = built_site
    html = page_text(pages)["evidence.html"]
    rows = table_records(html, "feature-importance-table")
    expected = warehouse_con.execute(
        "SELECT learner, feature_group, block, importance_mean, note FROM main.feature_importance "
        "ORDER BY learner, importance_mean DESC NULLS LAST").fetchall()
    assert [(r["model"], r["feature group"], r["block"], r["importance"], r["note"]) for r in rows] == [
        (learner, feature_group_label(group), block_label(block),
         format_number(value), note or "")
        for learner, group, block, value, note in expected]
    assert "n trust eroding: commitment broken" in {r["feature group"] for r in rows}
    figure = feature_importance_figure(site_data.feature_importance)
    drawn = sorted(x for trace in figure.data for x in trace.x)
    assert drawn == sorted(float(v) for *_, v, _ in expected if v is not None)
    assert {trace.name for trace in figure.data} == {"controls", "strategic alignment", "trust-eroding events"}
    assert "Method: drop in held-out R2 when the group is permuted" in html


def test_forecast_is_drawn_by_decile_when_the_statistics_stage_wrote_them(tmp_path):
    html = page_text(build(tmp_path, alter_sql=tables.ACCOUNT_VALUE_FORECAST_DECILES.ddl() + ";"
                           + tables.ACCOUNT_VALUE_FORECAST_EVALUATION.ddl() + """;
        INSERT INTO main.account_value_forecast_deciles BY NAME
        SELECT i AS decile, 1000.0 * i * i AS mean_predicted, 1100.0 * i * i AS mean_actual,
               12 AS n_accounts FROM range(1, 11) AS r(i);
        INSERT INTO main.account_value_forecast_evaluation BY NAME
        SELECT *, DATE '2025-01-01' AS cutoff_month, DATE '2024-01-01' AS trained_at, 12 AS horizon_months
        FROM (VALUES
            ('model', 'mean_absolute_error', 62601.2), ('naive_last_12_months', 'mean_absolute_error', 63069.7),
            ('model', 'total_error_pct', -16.2), ('model', 'interval_coverage', 0.837)
        ) AS t(forecaster, metric, value);
    """))["evidence.html"]
    assert "Predicted vs actual value, by tenth of accounts" in html
    assert "Predicted vs actual account value" not in html  # no per-account scatter
    rows = {r["measure"]: r for r in table_records(html, "forecast-evaluation-table")}
    assert rows["mean absolute error"]["model"] == "62,601"
    assert rows["mean absolute error"]["naive (last 12 months)"] == "63,070"
    assert rows["interval coverage"]["model"] == "83.7%"
    assert rows["total error pct"]["model"] == "-16.2%"
    figure = forecast_deciles_figure(pd.DataFrame({
        "decile": [1, 2], "mean_predicted": [10.0, 20.0], "mean_actual": [12.0, 18.0], "n_accounts": [5, 5]}))
    assert list(figure.data[0].x) == [10.0, 20.0] and list(figure.data[0].y) == [12.0, 18.0]


def test_calibration_checks_the_adjusted_effect_at_one_world_size(built_site, site_data):
    summary, worlds, note = calibration_selection(site_data.calibration_summary,
                                                        site_data.calibration_worlds)
    assert set(summary["test"]) == {"adjusted_effect"} and set(worlds["test"]) == {"adjusted_effect"}
    assert len(worlds) == 40 and "placebo" in note
    evidence = page_text(built_site[1])["evidence.html"]
    assert "The study also covers the placebo test(s)" in evidence
    findings = re.search(r'id="calibration-findings">(.*?)</ul>', evidence).group(1)
    assert "90.0%" not in findings.split("Power")[0]  # the placebo row's rate is not a false-alarm rate
    # Two world sizes: the one with more worlds is shown, the other named.
    two_sizes = site_data.calibration_summary.assign(accounts_per_world=1500)
    extra = two_sizes.head(4).assign(accounts_per_world=500, worlds=3)
    chosen, _, note = calibration_selection(pd.concat([two_sizes, extra]), site_data.calibration_worlds)
    assert set(chosen["accounts_per_world"]) == {1500}
    assert "also studied: 500 accounts per world" in note


def test_a_section_whose_analysis_was_skipped_names_the_input_it_needs(tmp_path):
    """main.analysis_coverage as the registry writes it for an export without a plan: the plan's
    sections say so (even though their tables hold rows), the others are drawn with a notice."""
    from dealscope.coverage import BY_NAME, COVERAGE_TABLE, InputState, assess_all
    from models.tables import ANALYSIS_COVERAGE

    states = {name: InputState(name, "present", "loaded") for name in
              ("accounts", "deals", "negotiation_events", "account_revenue", "deals.list_amount")}
    states["strategy_plan"] = InputState("strategy_plan", "absent", "strategy_plan.csv/.parquet is not in the export")
    rows = ", ".join(f"('{c.analysis}', {c.ran}, '{c.status}', '{c.needs}', '{c.missing}', '{c.reason}', "
                     f"'{', '.join(BY_NAME[c.analysis].outputs)}')" for c in assess_all(states))
    html = page_text(build(tmp_path, alter_sql=ANALYSIS_COVERAGE.ddl() + f";INSERT INTO {COVERAGE_TABLE} VALUES {rows};"))
    needs = re.findall(r'data-missing="([^"]+)" data-needs="([^"]+)"', html["strategic_fit.html"])
    assert needs == [("strategic_alignment", "strategy_plan"), ("main.alignment_band_outcomes", "strategy_plan"),
                     ("main.strategic_fit_audit", "strategy_plan")]
    assert ("Not drawn: the strategic-fit audit (flagged deals that are misaligned) needs strategy_plan: "
            "strategy_plan.csv/.parquet is not in the export.") in html["strategic_fit.html"]
    assert re.findall(r'data-needs="([^"]+)"', html["evidence.html"]) == ["strategy_plan"]
    assert 'data-needs' not in html["win_loss.html"]
    records = table_records(html["index.html"], "analysis-coverage-table")
    assert {(r["analysis"], r["outcome"], r["missing input"]) for r in records} == {
        ("Strategic alignment", "Not run", "strategy_plan"), ("H1 strategic alignment", "Not run", "strategy_plan")}
