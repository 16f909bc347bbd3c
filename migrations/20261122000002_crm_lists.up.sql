-- The CRM's screens: contacts table search and sort, kanban order, timelines, and live board updates.

create extension if not exists btree_gin;

-- Sort keys and the search text of the contacts table, kept by the database itself. Every list is keyset-paginated on
-- (key, id), so each sortable column has an index led by org_id.
alter table contacts
    add column sort_name text generated always as (lower(first_name || ' ' || last_name)) stored,
    add column sort_company text generated always as (lower(coalesce(company, ''))) stored,
    add column sort_email text generated always as (lower(coalesce(email::text, ''))) stored,
    add column search text generated always as (
        lower(first_name || ' ' || last_name || ' ' || coalesce(email::text, '') || ' ' || coalesce(company, ''))
    ) stored;

create index contacts_name_idx on contacts (org_id, sort_name, id);
create index contacts_company_idx on contacts (org_id, sort_company, id);
create index contacts_email_idx on contacts (org_id, sort_email, id);
-- Search as you type over name, e-mail and company: trigram GIN, org_id first (btree_gin).
create index contacts_search_idx on contacts using gin (org_id, search gin_trgm_ops);

-- When the deal last had an activity logged: with stage_entered_at it says how long a deal has been idle (rot days).
alter table deals add column last_activity_at timestamptz;

-- Board columns page by (position, id).
drop index deals_board_idx;
create index deals_board_idx on deals (org_id, pipeline_id, stage_id, position, id);
create index deals_owner_idx on deals (org_id, owner_id);

-- The workspace-wide timeline, newest first.
create index activities_org_time_idx on activities (org_id, occurred_at desc, id desc);

-- Every change to a deal is announced to the boards watching its pipeline (delivered at commit, so a rolled-back
-- change is never announced).
create function deals_notify() returns trigger
    language plpgsql
    as $$
declare
    d record;
begin
    if tg_op = 'DELETE' then
        d := old;
    else
        d := new;
    end if;
    perform pg_notify('deal_changes', json_build_object(
        'org_id', d.org_id, 'pipeline_id', d.pipeline_id, 'deal_id', d.id, 'stage_id', d.stage_id,
        'version', d.version, 'op', lower(tg_op))::text);
    return null;
end
$$;
create trigger deals_notify after insert or update or delete on deals for each row execute function deals_notify();
