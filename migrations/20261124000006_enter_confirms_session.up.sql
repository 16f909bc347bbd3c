-- A member transaction also confirms the browser session it acts for (D-018). A server keeps the sessions it has read
-- in memory, so a request no longer reads its session row; the transaction that opens its first read or write checks
-- instead that the row is still there and unexpired, in the statement that already checks the membership. A session
-- signed out or expired through another server is refused there (CV002) before anything is read.
--
-- The check runs first, as the login role that owns the sessions (the store's own role), before the switch to the
-- request role. Callers without a browser session (the command line, jobs, tests) pass null.
--
-- The function also reads the membership itself instead of calling app_member_role, and names everything by schema
-- instead of setting search_path: a function with a SET clause runs through a configuration save and restore on each
-- call, and app_enter runs at the start of every member transaction.
drop function app_enter(uuid, uuid, text);

create function app_enter(p_org uuid, p_user uuid, p_role text, p_session text default null) returns void
    language plpgsql volatile
as $$
declare
    member_role text;
begin
    if p_session is not null
       and not exists (select 1 from public.sessions s
                       where s.id = p_session and s.expiry_date > pg_catalog.now()) then
        raise exception 'the session this request acts for has ended' using errcode = 'CV002';
    end if;
    perform pg_catalog.set_config('app.org_id', p_org::text, true),
            pg_catalog.set_config('app.user_id', p_user::text, true),
            pg_catalog.set_config('role', 'clearview_app', true);
    -- Read as the request role, under the tenant policy.
    select m.role into member_role from public.memberships m where m.org_id = p_org and m.user_id = p_user;
    if member_role is distinct from p_role then
        raise exception 'the membership this request acts under has changed' using errcode = 'CV001';
    end if;
end
$$;
