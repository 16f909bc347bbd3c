drop index if exists deals_totals_idx;
