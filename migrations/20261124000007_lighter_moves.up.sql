-- Less database work per move (BENCHMARKS.md, run M: moves at 8 connections missed their p99 by about a tenth, and
-- the database spends four fifths of a move's CPU).
--
-- 1. A deal moved between groups is counted out of its old group and into its new one in one statement: an insert of
--    both rows into this connection's slot, turning into updates where they exist. It was two calls of
--    deal_totals_bump, each its own function call and statement. The rows are written in key order (the statement's
--    ORDER BY), as before, so two writers sharing a slot cannot deadlock.
-- 2. deals_board_idx (org_id, pipeline_id, stage_id, position, id) goes. Every board and move query is served by
--    deals_stage_position_idx (org_id, stage_id, position, id) (migration 20261123000001); the benchmark's moves and
--    board loads never scanned it, yet a move changes its stage and position, so every move wrote an entry into it.
--    Counting a pipeline's deals before deleting it goes through the pipeline's stages instead. The delete itself
--    (only ever of an empty pipeline) lets its foreign key's cascade look through the workspace's deals by org_id: a
--    rare admin action, against an index write on every move.
create or replace function deal_totals_track() returns trigger
    language plpgsql
    as $$
begin
    if tg_op = 'INSERT' then
        perform deal_totals_bump(new.org_id, new.pipeline_id, new.stage_id, new.currency, new.probability, 1,
                                 (new.amount_minor is not null)::int, coalesce(new.amount_minor, 0));
    elsif tg_op = 'DELETE' then
        if exists (select 1 from pipeline_stages s
                   where s.org_id = old.org_id and s.pipeline_id = old.pipeline_id and s.id = old.stage_id) then
            perform deal_totals_bump(old.org_id, old.pipeline_id, old.stage_id, old.currency, old.probability, -1,
                                     -(old.amount_minor is not null)::int, -coalesce(old.amount_minor, 0));
        end if;
    elsif (old.pipeline_id, old.stage_id, old.currency) = (new.pipeline_id, new.stage_id, new.currency)
          and old.probability is not distinct from new.probability then
        -- Same group, another amount.
        perform deal_totals_bump(new.org_id, new.pipeline_id, new.stage_id, new.currency, new.probability, 0,
                                 (new.amount_minor is not null)::int - (old.amount_minor is not null)::int,
                                 coalesce(new.amount_minor, 0)::numeric - coalesce(old.amount_minor, 0));
    else
        insert into deal_totals as t (org_id, pipeline_id, stage_id, currency, probability, slot, deals, with_amount,
                                      amount)
        select new.org_id, g.pipeline_id, g.stage_id, g.currency, g.probability, pg_backend_pid() % 64, g.n, g.w, g.a
        from (values
                (old.pipeline_id, old.stage_id, old.currency, old.probability, -1,
                 -(old.amount_minor is not null)::int, -coalesce(old.amount_minor, 0)::numeric),
                (new.pipeline_id, new.stage_id, new.currency, new.probability, 1,
                 (new.amount_minor is not null)::int, coalesce(new.amount_minor, 0)::numeric)
             ) g (pipeline_id, stage_id, currency, probability, n, w, a)
        order by g.pipeline_id::text, g.stage_id::text, g.currency, coalesce(g.probability, -1)
        on conflict (org_id, pipeline_id, stage_id, currency, probability, slot) do update
            set deals = t.deals + excluded.deals,
                with_amount = t.with_amount + excluded.with_amount,
                amount = t.amount + excluded.amount;
    end if;
    return null;
end
$$;

drop index deals_board_idx;
