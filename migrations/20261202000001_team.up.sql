-- The team: invitations that can be revoked and re-sent, and a mail queue with leases and a worker role of its own.

-- Invitations. Re-sending replaces the token (only its hash is stored), so one invitation has one valid link at a time.
-- A revoked invitation stays, so its link can say so; a new invitation of the same address is allowed once the last one
-- was accepted or revoked.
alter table invites
    add column revoked_at timestamptz,
    add column sent_at timestamptz not null default now(),
    add column updated_at timestamptz not null default now();
drop index invites_pending_email_key;
create unique index invites_open_email_key on invites (org_id, email) where accepted_at is null and revoked_at is null;
create unique index invites_token_hash_key on invites (token_hash);
create trigger invites_updated_at before update on invites for each row execute function set_updated_at();

-- Jobs. A worker claims a job by setting its lease (locked_until); one that dies holding it lets the lease run out, and
-- the job is claimed again. One partial index serves the claim: queued jobs that are due, and running ones whose lease
-- ran out.
alter table jobs
    add column locked_until timestamptz,
    add column locked_by text,
    add column finished_at timestamptz;
drop index jobs_due_idx;
create index jobs_claim_idx on jobs (run_at) where status in ('queued', 'running');

-- The worker's role: it reads and updates jobs of every workspace, and nothing else. Members' transactions keep to their
-- workspace's jobs; the old `app.worker` setting (which any transaction could set) no longer opens the table.
do $$
begin
    create role clearview_worker nologin;
exception when duplicate_object or unique_violation then
    null; -- another database of this cluster (or a concurrent test) created it
end
$$;

do $$
begin
    execute format('grant clearview_worker to %I', current_user);
exception when others then
    null; -- already a member, or a superuser (who needs no grant)
end
$$;

grant usage on schema public to clearview_worker;
grant select, update on jobs to clearview_worker;

drop policy tenant on jobs;
create policy tenant on jobs to clearview_app
    using (org_id = app_org_id())
    with check (org_id = app_org_id());
create policy worker_select on jobs for select to clearview_worker using (true);
create policy worker_update on jobs for update to clearview_worker using (true) with check (true);
