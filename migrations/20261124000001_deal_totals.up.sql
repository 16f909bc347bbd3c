-- A board's column totals, kept as deals change (D-012). Reading them from the deals meant an aggregate over every deal
-- of the pipeline on every board load — most of the kanban's database time at 8 connections (BENCHMARKS.md). Here
-- each (stage, currency, explicit probability) group holds a count, a count of deals with an amount and an exact sum,
-- maintained by row triggers on deals in the same transaction as the change, so a board reads a few rows.
--
-- Each group is split over up to 64 slots, chosen by the writing connection (pg_backend_pid() % 64); a board adds the
-- slots up. Concurrent moves from different connections therefore update different rows and do not queue behind one
-- another's row locks until commit.
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

-- Adds to one group's row in this connection's slot: an update of the existing row (one index probe), an insert the
-- first time (a concurrent first insert of the same row turns into an update).
create function deal_totals_bump(
    o uuid, p uuid, s uuid, cur char(3), prob smallint, n integer, w integer, a numeric
) returns void
    language plpgsql
    as $$
declare
    my_slot constant smallint := pg_backend_pid() % 64;
begin
    update deal_totals
    set deals = deals + n, with_amount = with_amount + w, amount = amount + a
    where org_id = o and pipeline_id = p and stage_id = s and currency = cur
      and (probability = prob or (prob is null and probability is null)) and slot = my_slot;
    if not found then
        insert into deal_totals as t (org_id, pipeline_id, stage_id, currency, probability, slot, deals, with_amount,
                                      amount)
        values (o, p, s, cur, prob, my_slot, n, w, a)
        on conflict (org_id, pipeline_id, stage_id, currency, probability, slot) do update
            set deals = t.deals + excluded.deals,
                with_amount = t.with_amount + excluded.with_amount,
                amount = t.amount + excluded.amount;
    end if;
end
$$;

-- Counts a deal out of its old group and into its new one. PL/pgSQL with static statements: the plans live as long as
-- the connection (a first version handed the rows to a SQL-language function, which was planned again on every call
-- and doubled a move's database time). A move's two groups are written in one order (by key), so two writers sharing
-- a slot cannot deadlock. A deal deleted together with its stage (its pipeline is being deleted) is skipped: the
-- group's rows go with the stage.
create function deal_totals_track() returns trigger
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

create trigger deal_totals_insert after insert on deals
    for each row execute function deal_totals_track();
-- Only changes that move a deal between groups or change its amount (not a title edit, a reorder within a column or
-- a logged activity): the condition is checked without calling the function.
create trigger deal_totals_update after update on deals
    for each row
    when ((old.pipeline_id, old.stage_id, old.currency, old.probability, old.amount_minor)
          is distinct from (new.pipeline_id, new.stage_id, new.currency, new.probability, new.amount_minor))
    execute function deal_totals_track();
create trigger deal_totals_delete after delete on deals
    for each row execute function deal_totals_track();

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
