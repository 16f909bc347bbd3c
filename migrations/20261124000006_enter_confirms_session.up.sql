-- A member transaction also confirms the browser session it acts for (D-018). A server keeps the sessions it has read
-- in memory, so a request no longer reads its session row; the transaction that opens its first read or write checks
-- instead that the row is still there and unexpired, in the statement that already checks the membership. A session
-- signed out or expired through another server is refused there (CV002) before anything is read.
--
-- The check runs first, as the login role that owns the sessions (the store's own role), before the switch to the
-- request role. Callers without a browser session (the command line, jobs, tests) pass null.
drop function app_enter(uuid, uuid, text);

create function app_enter(p_org uuid, p_user uuid, p_role text, p_session text default null) returns void
    language plpgsql volatile
    set search_path = pg_catalog, public
as $$
begin
    if p_session is not null
       and not exists (select 1 from public.sessions s where s.id = p_session and s.expiry_date > now()) then
        raise exception 'the session this request acts for has ended' using errcode = 'CV002';
    end if;
    perform set_config('app.org_id', p_org::text, true);
    -- Sets app.user_id and switches to the request role (clearview_app), then reads the membership under its policy.
    if public.app_member_role(p_org, p_user) is distinct from p_role then
        raise exception 'the membership this request acts under has changed' using errcode = 'CV001';
    end if;
end
$$;
