drop function activity_search_plan(jsonb, text, uuid, uuid, timestamptz, uuid, integer);
drop function activity_search(jsonb, text, uuid, uuid, timestamptz, uuid, integer);
drop function activity_search_sql(boolean, boolean, boolean, boolean);
drop function contact_search_plan(text, text, boolean, text, uuid, integer);
drop function contact_search(text, text, boolean, text, uuid, integer);
drop function contact_search_sql(text, boolean, boolean);
drop function contact_search_bitmap_limit();
drop function contact_search_estimate(text);
-- clearview_search is shared by every database of the cluster, so it stays (its grants go with the tables).
do $$
begin
    if exists (select 1 from pg_roles where rolname = 'clearview_search') then
        revoke select on contacts, activities from clearview_search;
    end if;
end
$$;
