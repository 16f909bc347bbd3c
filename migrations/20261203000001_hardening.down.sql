drop policy tenant_delete on memberships;
drop policy tenant_update on memberships;
drop policy tenant_insert on memberships;
drop policy tenant_select on memberships;
create policy tenant on memberships
    using (org_id = app_org_id() or user_id = app_user_id())
    with check (org_id = app_org_id());

drop policy tenant_delete on organizations;
drop policy tenant_update on organizations;
drop policy tenant_insert on organizations;
drop policy tenant_select on organizations;
create policy tenant on organizations
    using (id = app_org_id() or exists (select 1 from memberships m where m.org_id = organizations.id and m.user_id = app_user_id()))
    with check (id = app_org_id());

revoke select (id, email, name, created_at) on users from clearview_app;
grant select on users to clearview_app;

drop index auth_throttle_expires_idx;
alter table auth_throttle drop column expires_at, drop column last_failure_at;
