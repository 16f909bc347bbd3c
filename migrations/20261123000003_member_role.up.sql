-- A request's scope in one round trip (D-005, BENCHMARKS.md): the person's role in a workspace, read under the
-- memberships policy as the request role, in a single statement outside any explicit transaction. The settings and
-- the role switch are transaction-local, so they end with the statement's own transaction.
create function app_member_role(p_org uuid, p_user uuid) returns text
    language plpgsql volatile
    set search_path = pg_catalog, public
as $$
begin
    perform set_config('app.user_id', p_user::text, true);
    perform set_config('role', 'clearview_app', true);
    return (select m.role from public.memberships m where m.org_id = p_org and m.user_id = p_user);
end
$$;
