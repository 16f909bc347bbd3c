-- Found by scripts/bench (BENCHMARKS.md): a board's totals read every deal of the pipeline, grouped by stage, currency
-- and explicit probability. Led by the pipeline and carrying the amount, this index serves them as an index-only scan
-- already in group order: no table pages, no sort (it was most of a board's database time at 8 connections).
create index deals_totals_idx on deals (org_id, pipeline_id, stage_id, currency, probability) include (amount_minor);
