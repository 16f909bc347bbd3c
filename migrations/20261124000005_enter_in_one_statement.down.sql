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

drop function app_enter(uuid, uuid, text);
