drop function app_enter(uuid, uuid, text, text);

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
