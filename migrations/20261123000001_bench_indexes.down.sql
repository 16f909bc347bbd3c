drop index if exists deals_stage_position_idx;
