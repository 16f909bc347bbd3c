-- Back to D-011's contact search: the lower-cased searched text and its trigram index led by the workspace, the
-- LIKE functions as 20261123000002_search_under_rls defined them; the word index goes.
drop trigger contacts_words_added on contacts;
drop trigger contacts_words_changed on contacts;
drop trigger contacts_words_removed on contacts;
drop function contact_search_plan(text, text, boolean, smallint, text, uuid, integer);
drop function contact_search(text, text, boolean, smallint, text, uuid, integer);
drop function contact_search_explain(text, text, uuid, text, uuid, integer, uuid[], text);
drop function contact_search_core(text, text, boolean, smallint, text, uuid, integer, boolean);
drop function contact_words_added();
drop function contact_words_changed();
drop function contact_words_removed();
drop function contact_words_gain(uuid[], text[], uuid[]);
drop function contact_words_lose(uuid[], text[], uuid[]);
drop table contact_vocabulary;
drop table contact_words;

alter table contacts drop column search;
alter table contacts add column search text generated always as (
    lower(first_name || ' ' || last_name || ' ' || coalesce(email::text, '') || ' ' || coalesce(company, ''))
) stored;
create index contacts_search_idx on contacts using gin (org_id, search gin_trgm_ops);
drop function search_words(text);
drop function search_fold(text);

-- The statement the contacts search runs: ids and sort keys of one keyset page of matches.
-- $1 workspace, $2 LIKE pattern (escaped by the caller), $3/$4 the cursor's key and id, $5 the row limit.
create function contact_search_sql(sort text, descending boolean, keyset boolean) returns text
    language plpgsql immutable
    set search_path = pg_catalog, public
as $$
declare
    col text;
    op text := case when descending then '<' else '>' end;
    dir text := case when descending then 'desc' else 'asc' end;
    sql text;
begin
    col := case sort
        when 'name' then 'sort_name'
        when 'company' then 'sort_company'
        when 'email' then 'sort_email'
        when 'created' then null
        else 'invalid'
    end;
    if col = 'invalid' then
        raise exception 'unknown contact sort %', sort using errcode = 'invalid_parameter_value';
    end if;
    sql := 'select id, ' || coalesce(col, '''''') || '::text as sort_key from public.contacts '
        || 'where org_id = $1 and search like $2 escape ''\''';
    if keyset then
        sql := sql || case when col is null then format(' and id %s $4', op)
                           else format(' and (%I, id) %s ($3, $4)', col, op) end;
    end if;
    sql := sql || case when col is null then format(' order by id %s', dir)
                       else format(' order by %I %s, id %s', col, dir, dir) end;
    return sql || ' limit $5';
end
$$;

-- How many contacts of the workspace the planner expects to match: the trigram index pays off up to a few tens of
-- thousands of matches. Beyond that, walking the sort column's index and filtering finds a page sooner on average.
create function contact_search_estimate(pattern text) returns double precision
    language plpgsql volatile security definer
    set search_path = pg_catalog, public
as $$
declare
    plan json;
begin
    execute 'explain (format json) select 1 from public.contacts where org_id = $1 and search like $2 escape ''\'''
        into plan using public.app_org_id(), pattern;
    return (plan -> 0 -> 'Plan' ->> 'Plan Rows')::double precision;
end
$$;

-- Left to itself the planner walks the sort column's index whenever it expects 51 matches early on. For a term whose
-- matches sit late in that order (a first name, since names sort by first name) that is a walk through most of the
-- workspace: seconds at 1M contacts. So up to this many expected matches the index scan is ruled out for the one
-- statement and the trigram index is read instead: the cost is bounded by the number of matches.
create function contact_search_bitmap_limit() returns double precision
    language sql immutable
    as $$ select 20000::double precision $$;

create function contact_search(pattern text, sort text, descending boolean, after_key text, after_id uuid, lim integer)
    returns table (id uuid, sort_key text)
    language plpgsql volatile security definer
    set search_path = pg_catalog, public
    set enable_indexscan = on -- restored on exit: the choice below holds for this function's statement only
as $$
begin
    if public.app_org_id() is null then
        return;
    end if;
    if public.contact_search_estimate(pattern) <= public.contact_search_bitmap_limit() then
        perform set_config('enable_indexscan', 'off', true);
    end if;
    return query execute public.contact_search_sql(sort, descending, after_id is not null)
        using public.app_org_id(), pattern, after_key, after_id, lim;
end
$$;

-- The same statement's plan as it runs (EXPLAIN ANALYZE), after the planner's estimate of matches, for tests and the
-- benchmark notes; not granted to the request role.
create function contact_search_plan(pattern text, sort text, descending boolean, after_key text, after_id uuid,
                                    lim integer)
    returns setof text
    language plpgsql volatile security definer
    set search_path = pg_catalog, public
    set enable_indexscan = on
as $$
declare
    estimate double precision := public.contact_search_estimate(pattern);
begin
    return next format('estimated matches: %s (the trigram index is chosen up to %s)', estimate,
                       public.contact_search_bitmap_limit());
    if estimate <= public.contact_search_bitmap_limit() then
        perform set_config('enable_indexscan', 'off', true);
    end if;
    return query execute 'explain (analyze, buffers, costs off) '
        || public.contact_search_sql(sort, descending, after_id is not null)
        using public.app_org_id(), pattern, after_key, after_id, lim;
end
$$;

revoke execute on function contact_search_estimate(text),
    contact_search(text, text, boolean, text, uuid, integer),
    contact_search_plan(text, text, boolean, text, uuid, integer)
    from public;
grant execute on function contact_search(text, text, boolean, text, uuid, integer) to clearview_app;

do $$
begin
    if exists (select 1 from pg_roles where rolname = 'clearview_search' and rolbypassrls) then
        alter function contact_search_estimate(text) owner to clearview_search;
        alter function contact_search(text, text, boolean, text, uuid, integer) owner to clearview_search;
        alter function contact_search_plan(text, text, boolean, text, uuid, integer) owner to clearview_search;
        execute format('grant execute on function contact_search_plan(text, text, boolean, text, uuid, integer) to %I',
                       current_user);
    end if;
exception when insufficient_privilege then
    raise notice 'search functions stay with %: search runs without its index', current_user;
end
$$;
