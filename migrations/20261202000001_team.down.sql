drop policy worker_update on jobs;
drop policy worker_select on jobs;
drop policy tenant on jobs;
create policy tenant on jobs
    using (org_id = app_org_id() or current_setting('app.worker', true) = 'on')
    with check (org_id = app_org_id() or current_setting('app.worker', true) = 'on');
revoke select, update on jobs from clearview_worker;
revoke usage on schema public from clearview_worker;
-- The clearview_worker role is shared by every database of the cluster, so it stays.

drop index jobs_claim_idx;
create index jobs_due_idx on jobs (run_at) where status = 'queued';
alter table jobs drop column finished_at, drop column locked_by, drop column locked_until;

-- Revoked invitations have no place in the old shape (one row per address until accepted).
delete from invites where revoked_at is not null;
drop trigger invites_updated_at on invites;
drop index invites_token_hash_key;
drop index invites_open_email_key;
create unique index invites_pending_email_key on invites (org_id, email) where accepted_at is null;
alter table invites drop column updated_at, drop column sent_at, drop column revoked_at;
