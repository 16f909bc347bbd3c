-- D-017: an audit entry is sealed (given its place in the workspace's chain) shortly after its transaction commits,
-- not inside the commit. The entry itself is still written in the mutation's own transaction, pending (D-015); the
-- server seals the workspaces its requests wrote to once they have committed, in batches, and every reader of the log
-- seals first, so no reader ever sees a committed entry outside the chain.

drop trigger audit_log_seal on audit_log;
drop function audit_log_seal();

-- Seals the committed pending entries of the transaction's workspace (app.org_id), oldest first: pending seq runs
-- -1, -2, … in insertion order, so `order by seq desc` is insertion order, within a transaction and across them.
-- Returns how many it sealed. Same link and hash formula as D-008 / D-015.
--
-- Runs as the table's owner: the request role may only insert and read entries, never update them. Row-level security
-- still applies inside (the table forces it), so it can only ever see and seal the one workspace the transaction is in.
create function audit_seal() returns integer
    language plpgsql
    security definer
    set search_path = pg_catalog, public
    as $$
declare
    org constant uuid := public.app_org_id();
    v_seq bigint;
    v_prev bytea;
    v_hash bytea;
    e record;
    pending_seqs bigint[] := '{}';
    new_seqs bigint[] := '{}';
    prevs bytea[] := '{}';
    hashes bytea[] := '{}';
begin
    if org is null then
        raise exception 'audit_seal needs a workspace (app.org_id)' using errcode = 'invalid_parameter_value';
    end if;
    -- Nothing pending, the usual case for a reader: no lock.
    if not exists (select 1 from public.audit_log where org_id = org and seq < 0) then
        return 0;
    end if;
    -- One sealer per workspace at a time. Each statement below takes a fresh snapshot, so it sees what a sealer
    -- before it committed.
    perform pg_advisory_xact_lock(hashtextextended('audit:' || org::text, 0));
    select seq, hash into v_seq, v_prev from public.audit_log
        where org_id = org and seq > 0 order by seq desc limit 1;
    v_seq := coalesce(v_seq, 0);
    v_prev := coalesce(v_prev, '\x'::bytea);
    for e in select * from public.audit_log where org_id = org and seq < 0 order by seq desc loop
        v_seq := v_seq + 1;
        v_hash := sha256(v_prev || convert_to(concat_ws('|', e.id, e.org_id, v_seq,
            to_char(e.at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'), e.actor_id, e.action,
            e.entity_type, e.entity_id, e.request_id, e.changes::text), 'UTF8'));
        pending_seqs := pending_seqs || e.seq;
        new_seqs := new_seqs || v_seq;
        prevs := prevs || v_prev;
        hashes := hashes || v_hash;
        v_prev := v_hash;
    end loop;
    -- One statement for the batch. New seqs are above every sealed one and pending seqs below zero: no collision.
    update public.audit_log a set seq = s.new_seq, prev_hash = s.prev, hash = s.hash
        from unnest(pending_seqs, new_seqs, prevs, hashes) as s(pending_seq, new_seq, prev, hash)
        where a.org_id = org and a.seq = s.pending_seq;
    return cardinality(new_seqs);
end
$$;

revoke execute on function audit_seal() from public;
grant execute on function audit_seal() to clearview_app;
