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
