drop trigger audit_log_seal on audit_log;
drop function audit_log_seal();
drop sequence audit_log_pending_seq;

create or replace function audit_log_chain() returns trigger
    language plpgsql
    as $$
declare
    prev record;
begin
    perform pg_advisory_xact_lock(hashtextextended('audit:' || new.org_id::text, 0));
    select seq, hash into prev from audit_log where org_id = new.org_id order by seq desc limit 1;
    if prev is null then
        new.seq := 1;
        new.prev_hash := '\x'::bytea;
    else
        new.seq := prev.seq + 1;
        new.prev_hash := prev.hash;
    end if;
    new.hash := sha256(new.prev_hash || convert_to(concat_ws('|', new.id, new.org_id, new.seq,
        to_char(new.at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'), new.actor_id, new.action, new.entity_type,
        new.entity_id, new.request_id, new.changes::text), 'UTF8'));
    return new;
end
$$;

create or replace function audit_log_append_only() returns trigger
    language plpgsql
    as $$
begin
    if tg_op = 'DELETE' and not exists (select 1 from organizations where id = old.org_id) then
        return old;
    end if;
    raise exception 'audit_log is append-only' using errcode = 'insufficient_privilege';
end
$$;
