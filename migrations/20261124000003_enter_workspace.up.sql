-- How a member transaction starts (D-014, D-016). A request's scope (workspace, person, role) may come from its
-- session without a query of its own; the transaction confirms it in the one statement that opens it:
-- `select app_enter(org, user, role); begin`. app_enter makes the settings and the role switch (transaction-local) and
-- checks that the person is still a member of the workspace with exactly that role (read as the request role, under
-- the tenant policy, by app_member_role), or the message stops here.
--
-- Settings made with is_local before a BEGIN in the same message belong to the implicit transaction that BEGIN
-- continues, so they last until COMMIT. A failed check rolls the whole message back and leaves the connection idle,
-- never inside an aborted transaction. One statement, not several: each statement of a message is parsed, planned and
-- run on its own, and SET LOCAL ROLE as a statement cost more than the query it preceded (BENCHMARKS.md).
create function app_enter(p_org uuid, p_user uuid, p_role text) returns void
    language plpgsql volatile
    set search_path = pg_catalog, public
as $$
begin
    perform set_config('app.org_id', p_org::text, true);
    -- Sets app.user_id and switches to the request role (clearview_app), then reads the membership under its policy.
    if public.app_member_role(p_org, p_user) is distinct from p_role then
        raise exception 'the membership this request acts under has changed' using errcode = 'CV001';
    end if;
end
$$;
