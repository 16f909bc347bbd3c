-- A board's column totals, kept as deals change (D-012). Reading them from the deals meant an aggregate over every deal
-- of the pipeline on every board load — most of the kanban's database time at 8 connections (BENCHMARKS.md). Here
-- each (stage, currency, explicit probability) group holds a count, a count of deals with an amount and an exact sum,
-- maintained by statement triggers on deals in the same transaction as the change, so a board reads a few rows.
--
-- Each group is split over up to 64 slots, chosen by the writing connection (pg_backend_pid() % 64); a board adds the
-- slots up. Concurrent moves from different connections therefore update different rows and do not queue behind one
-- another's row locks until commit. Within one statement the rows are written in key order, so two writers that
-- share a slot lock them in the same order.
create table deal_totals (
    org_id uuid not null references organizations (id) on delete cascade,
    pipeline_id uuid not null,
    stage_id uuid not null,
    currency char(3) not null,
    -- The deals' explicit probability; null: they follow the stage's default (combined when the board is read).
    probability smallint,
    slot smallint not null check (slot between 0 and 63),
    deals bigint not null,
    with_amount bigint not null,
    amount numeric not null,
    foreign key (org_id, pipeline_id, stage_id) references pipeline_stages (org_id, pipeline_id, id) on delete cascade
);
create unique index deal_totals_key on deal_totals (org_id, pipeline_id, stage_id, currency, probability, slot)
    nulls not distinct;

alter table deal_totals enable row level security;
alter table deal_totals force row level security;
create policy tenant on deal_totals using (org_id = app_org_id()) with check (org_id = app_org_id());
grant select, insert, update on deal_totals to clearview_app;

-- One deal counted in (sign 1) or out (sign -1) of its group.
create type deal_totals_change as (
    org_id uuid, pipeline_id uuid, stage_id uuid, currency char(3), probability smallint, sign integer, amount bigint
);

-- Adds a statement's changes (deals in minus deals out, per group) to this connection's slot. A group whose stage is
-- gone (its pipeline is being deleted) is skipped: its rows go with the stage. Changes that leave every group as it
-- was (a title edit, a reorder within a column, a logged activity) write nothing and take no lock.
create function deal_totals_add(changes deal_totals_change[]) returns void
    language sql
    as $$
    insert into deal_totals as t (org_id, pipeline_id, stage_id, currency, probability, slot, deals, with_amount, amount)
    select c.org_id, c.pipeline_id, c.stage_id, c.currency, c.probability, (pg_backend_pid() % 64)::smallint,
           sum(c.sign), coalesce(sum(c.sign) filter (where c.amount is not null), 0),
           coalesce(sum(c.sign * c.amount::numeric), 0)
    from unnest(changes) c
    where exists (select 1 from pipeline_stages s
                  where s.org_id = c.org_id and s.pipeline_id = c.pipeline_id and s.id = c.stage_id)
    group by c.org_id, c.pipeline_id, c.stage_id, c.currency, c.probability
    having sum(c.sign) <> 0 or coalesce(sum(c.sign) filter (where c.amount is not null), 0) <> 0
        or coalesce(sum(c.sign * c.amount::numeric), 0) <> 0
    order by c.org_id, c.pipeline_id, c.stage_id, c.currency, c.probability
    on conflict (org_id, pipeline_id, stage_id, currency, probability, slot) do update
        set deals = t.deals + excluded.deals,
            with_amount = t.with_amount + excluded.with_amount,
            amount = t.amount + excluded.amount
$$;

create function deal_totals_track() returns trigger
    language plpgsql
    as $$
begin
    if tg_op = 'INSERT' then
        perform deal_totals_add(array(
            select row(org_id, pipeline_id, stage_id, currency, probability, 1, amount_minor)::deal_totals_change
            from new_deals));
    elsif tg_op = 'DELETE' then
        perform deal_totals_add(array(
            select row(org_id, pipeline_id, stage_id, currency, probability, -1, amount_minor)::deal_totals_change
            from old_deals));
    else
        perform deal_totals_add(array(
            select row(org_id, pipeline_id, stage_id, currency, probability, 1, amount_minor)::deal_totals_change
            from new_deals
            union all
            select row(org_id, pipeline_id, stage_id, currency, probability, -1, amount_minor)::deal_totals_change
            from old_deals));
    end if;
    return null;
end
$$;

create trigger deal_totals_insert after insert on deals
    referencing new table as new_deals for each statement execute function deal_totals_track();
create trigger deal_totals_update after update on deals
    referencing old table as old_deals new table as new_deals for each statement execute function deal_totals_track();
create trigger deal_totals_delete after delete on deals
    referencing old table as old_deals for each statement execute function deal_totals_track();

-- The totals of the deals already there, read past the policy by the tables' owner (this migration's role).
alter table deals no force row level security;
alter table deal_totals no force row level security;
insert into deal_totals (org_id, pipeline_id, stage_id, currency, probability, slot, deals, with_amount, amount)
select org_id, pipeline_id, stage_id, currency, probability, 0, count(*), count(amount_minor),
       coalesce(sum(amount_minor), 0)
from deals
group by org_id, pipeline_id, stage_id, currency, probability;
alter table deals force row level security;
alter table deal_totals force row level security;

-- The board no longer aggregates deals: the index that served it only costs writes now.
drop index if exists deals_totals_idx;
