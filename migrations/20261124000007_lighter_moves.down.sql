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
    elsif (old.pipeline_id::text, old.stage_id::text, old.currency, coalesce(old.probability, -1))
          < (new.pipeline_id::text, new.stage_id::text, new.currency, coalesce(new.probability, -1)) then
        perform deal_totals_bump(old.org_id, old.pipeline_id, old.stage_id, old.currency, old.probability, -1,
                                 -(old.amount_minor is not null)::int, -coalesce(old.amount_minor, 0));
        perform deal_totals_bump(new.org_id, new.pipeline_id, new.stage_id, new.currency, new.probability, 1,
                                 (new.amount_minor is not null)::int, coalesce(new.amount_minor, 0));
    else
        perform deal_totals_bump(new.org_id, new.pipeline_id, new.stage_id, new.currency, new.probability, 1,
                                 (new.amount_minor is not null)::int, coalesce(new.amount_minor, 0));
        perform deal_totals_bump(old.org_id, old.pipeline_id, old.stage_id, old.currency, old.probability, -1,
                                 -(old.amount_minor is not null)::int, -coalesce(old.amount_minor, 0));
    end if;
    return null;
end
$$;

create index deals_board_idx on deals (org_id, pipeline_id, stage_id, position, id);
