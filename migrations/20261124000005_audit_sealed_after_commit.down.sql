-- Back to sealing at commit (D-015). Entries still pending when this runs stay pending: seal every workspace first
-- (`select audit_seal()` in each workspace's transaction) if the chain must be complete.
drop function audit_seal();

create function audit_log_seal() returns trigger
    language plpgsql
    security definer
    set search_path = pg_catalog, public
    as $$
declare
    prev record;
    v_seq bigint;
    v_prev bytea;
begin
    perform pg_advisory_xact_lock(hashtextextended('audit:' || new.org_id::text, 0));
    select seq, hash into prev from public.audit_log
        where org_id = new.org_id and seq > 0 order by seq desc limit 1;
    if prev is null then
        v_seq := 1;
        v_prev := '\x'::bytea;
    else
        v_seq := prev.seq + 1;
        v_prev := prev.hash;
    end if;
    update public.audit_log set
        seq = v_seq,
        prev_hash = v_prev,
        hash = sha256(v_prev || convert_to(concat_ws('|', new.id, new.org_id, v_seq,
            to_char(new.at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'), new.actor_id, new.action,
            new.entity_type, new.entity_id, new.request_id, new.changes::text), 'UTF8'))
    where id = new.id;
    return null;
end
$$;

create constraint trigger audit_log_seal after insert on audit_log
    deferrable initially deferred
    for each row execute function audit_log_seal();
