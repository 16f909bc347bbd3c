-- Found by scripts/bench (BENCHMARKS.md): a deal move reads the last card of its target column
-- (`where org_id = $1 and stage_id = $2 order by position desc, id desc limit 1`) and, for a move between two cards,
-- the neighbour of the anchor (`... and position < $4 order by position desc limit 1`). Neither names the pipeline, so
-- deals_board_idx (org_id, pipeline_id, stage_id, position, id) cannot serve them: every move sorted the whole
-- workspace's deals of that stage (1.4 ms with 2,000 cards in a column). Led by the stage, both are one index probe.
create index deals_stage_position_idx on deals (org_id, stage_id, position, id);
