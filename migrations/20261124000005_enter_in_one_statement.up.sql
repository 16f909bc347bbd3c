-- D-016: a member transaction opens with one statement before its BEGIN instead of four around it. Each statement of a
-- simple-query message is parsed, planned and run on its own, and the role switch as a SET statement cost more than
-- the query it preceded: the check, BEGIN, the settings and SET LOCAL ROLE were 0.2 ms of the database's time per
-- request (BENCHMARKS.md). Settings made with is_local before a BEGIN in the same message belong to the implicit
-- transaction that BEGIN continues, so they last until COMMIT exactly as before; a failed check still rolls the whole
-- message back and leaves the connection idle (D-014).
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

drop function app_assert_member(uuid, uuid, text);
