-- A request's scope (workspace, person, role) may come from its session without a query of its own (D-014). Every
-- member transaction confirms it in its first message: the person must still be a member of the workspace with exactly
-- that role (read as the request role, under the tenant policy, by app_member_role), or the message stops here.
-- It runs before the message's BEGIN, in the implicit transaction that BEGIN then continues: a failure rolls that back
-- whole and leaves the connection idle, never inside an aborted transaction.
create function app_assert_member(p_org uuid, p_user uuid, p_role text) returns void
    language plpgsql volatile
    set search_path = pg_catalog, public
as $$
begin
    if public.app_member_role(p_org, p_user) is distinct from p_role then
        raise exception 'the membership this request acts under has changed' using errcode = 'CV001';
    end if;
end
$$;
