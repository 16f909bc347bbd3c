drop trigger if exists deal_totals_insert on deals;
drop trigger if exists deal_totals_update on deals;
drop trigger if exists deal_totals_delete on deals;
drop function if exists deal_totals_track();
drop function if exists deal_totals_bump(uuid, uuid, uuid, char(3), smallint, integer, integer, numeric);
drop table if exists deal_totals;
create index if not exists deals_totals_idx on deals (org_id, pipeline_id, stage_id, currency, probability)
    include (amount_minor);
