-- Hardening: a sign-in throttle that counts atomically and forgets, and a request role that reads and writes only what
-- it needs (D-022).

-- The throttle. Every key has its own window (`expires_at`), and a delay measured from its last attempt
-- (`last_failure_at`); a row whose window has passed is purged. Rows of the old shape expire fifteen minutes after their
-- window opened, as they did.
alter table auth_throttle
    add column last_failure_at timestamptz not null default now(),
    add column expires_at timestamptz;
update auth_throttle set expires_at = window_started_at + interval '15 minutes', last_failure_at = window_started_at;
alter table auth_throttle alter column expires_at set not null;
create index auth_throttle_expires_idx on auth_throttle (expires_at);

-- Users: the request role reads who people are, never their password hash (only the login role, which owns the table,
-- checks a password).
revoke select on users from clearview_app;
grant select (id, email, name, created_at) on users to clearview_app;

-- Organizations and memberships, one policy per command. A person sees the workspaces they belong to and their own
-- memberships of each (to choose a workspace); a transaction changes only rows of its own workspace.
drop policy tenant on organizations;
create policy tenant_select on organizations for select
    using (id = app_org_id()
           or exists (select 1 from memberships m where m.org_id = organizations.id and m.user_id = app_user_id()));
create policy tenant_insert on organizations for insert with check (id = app_org_id());
create policy tenant_update on organizations for update using (id = app_org_id()) with check (id = app_org_id());
create policy tenant_delete on organizations for delete using (id = app_org_id());

drop policy tenant on memberships;
create policy tenant_select on memberships for select using (org_id = app_org_id() or user_id = app_user_id());
create policy tenant_insert on memberships for insert with check (org_id = app_org_id());
create policy tenant_update on memberships for update using (org_id = app_org_id()) with check (org_id = app_org_id());
create policy tenant_delete on memberships for delete using (org_id = app_org_id());
