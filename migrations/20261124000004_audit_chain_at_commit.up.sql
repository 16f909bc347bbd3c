-- D-015: an audit entry joins its workspace's chain when its transaction commits, not when it is written. The chain
-- lock (one per workspace) is then held for the linking and the commit's flush only, no longer from the entry's
-- insert through the rest of the transaction and the client's round trips to COMMIT.
--
-- Until its transaction commits an entry is pending: a placeholder seq below zero (unique, from a sequence) and empty
-- hashes, visible to its own transaction only. A deferred constraint trigger gives it, at commit, the next seq and its
-- hashes — the same formula as before — in insertion order within the transaction.

create sequence audit_log_pending_seq;
grant usage on sequence audit_log_pending_seq to clearview_app;

create or replace function audit_log_chain() returns trigger
    language plpgsql
    as $$
begin
    new.seq := -nextval('public.audit_log_pending_seq');
    new.prev_hash := '\x'::bytea;
    new.hash := '\x'::bytea;
    return new;
end
$$;

-- Runs as the table's owner: the request role may only insert and read entries, never update them.
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

-- Append-only, except the one change sealing makes: a pending entry gets its place in the chain, once, and nothing
-- else about it changes.
create or replace function audit_log_append_only() returns trigger
    language plpgsql
    as $$
begin
    if tg_op = 'DELETE' and not exists (select 1 from organizations where id = old.org_id) then
        return old;
    end if;
    if tg_op = 'UPDATE' and old.seq < 0 and new.seq > 0 and old.hash = '\x'::bytea
        and (new.id, new.org_id, new.at, new.actor_id, new.action, new.entity_type, new.entity_id, new.request_id,
             new.changes)
            is not distinct from
            (old.id, old.org_id, old.at, old.actor_id, old.action, old.entity_type, old.entity_id, old.request_id,
             old.changes)
    then
        return new;
    end if;
    raise exception 'audit_log is append-only' using errcode = 'insufficient_privilege';
end
$$;
