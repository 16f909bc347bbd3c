-- Index-served search and JSONB filters under row-level security (D-011).
--
-- PostgreSQL evaluates a row-level security policy before any qualifier whose function is not LEAKPROOF, and will not
-- use such a qualifier as an index condition. `LIKE` (pg_trgm's contacts_search_idx) and `@>` (the activities GIN
-- index) are not LEAKPROOF, so under the tenant role both became filters over every row of the workspace.
--
-- The match therefore runs inside two SECURITY DEFINER functions owned by `clearview_search`, a NOLOGIN role that
-- bypasses row-level security and may only read contacts and activities. Each function restricts itself to
-- app_org_id() — the transaction's workspace, the very value the policy compares with, never an argument — and returns
-- only ids (and the sort key). The caller joins those ids back to the tables under the policy, so a row of another
-- workspace could not come out even if a function were wrong. The SQL is built from a fixed set of fragments
-- (sort columns are whitelisted), every value is a bound parameter.
--
-- Creating a BYPASSRLS role needs a superuser (the embedded default and the test clusters run migrations as one).
-- Where that is refused, the functions stay owned by the migrating role: results are the same, the policy still
-- applies inside them, only the index cannot be used.

do $$
begin
    create role clearview_search nologin bypassrls;
exception
    when duplicate_object or unique_violation then null; -- cluster-wide: another database created it
    when insufficient_privilege then raise notice 'clearview_search not created: search runs without its index';
end
$$;

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

-- The statement the activity filter runs: ids of one keyset page of activities whose details contain $2.
-- $1 workspace, $2 metadata, $3 kind, $4 deal, $5 contact, $6/$7 the cursor's time and id, $8 the row limit.
create function activity_search_sql(by_kind boolean, by_deal boolean, by_contact boolean, keyset boolean) returns text
    language sql immutable
as $$
    select 'select id from public.activities where org_id = $1 and metadata @> $2'
        || case when by_kind then ' and kind = $3' else '' end
        || case when by_deal then ' and deal_id = $4' else '' end
        || case when by_contact then ' and contact_id = $5' else '' end
        || case when keyset then ' and (occurred_at, id) < ($6, $7)' else '' end
        || ' order by occurred_at desc, id desc limit $8'
$$;

create function activity_search(filter jsonb, p_kind text, p_deal uuid, p_contact uuid, after_at timestamptz,
                                after_id uuid, lim integer)
    returns table (id uuid)
    language plpgsql stable security definer
    set search_path = pg_catalog, public
as $$
begin
    if public.app_org_id() is null then
        return;
    end if;
    return query execute public.activity_search_sql(p_kind is not null, p_deal is not null, p_contact is not null,
                                                     after_id is not null)
        using public.app_org_id(), filter, p_kind, p_deal, p_contact, after_at, after_id, lim;
end
$$;

create function activity_search_plan(filter jsonb, p_kind text, p_deal uuid, p_contact uuid, after_at timestamptz,
                                     after_id uuid, lim integer)
    returns setof text
    language plpgsql volatile security definer
    set search_path = pg_catalog, public
as $$
begin
    return query execute 'explain (analyze, buffers, costs off) '
        || public.activity_search_sql(p_kind is not null, p_deal is not null, p_contact is not null,
                                      after_id is not null)
        using public.app_org_id(), filter, p_kind, p_deal, p_contact, after_at, after_id, lim;
end
$$;

revoke execute on function contact_search_estimate(text),
    contact_search(text, text, boolean, text, uuid, integer),
    contact_search_plan(text, text, boolean, text, uuid, integer),
    activity_search(jsonb, text, uuid, uuid, timestamptz, uuid, integer),
    activity_search_plan(jsonb, text, uuid, uuid, timestamptz, uuid, integer)
    from public;
grant execute on function contact_search(text, text, boolean, text, uuid, integer),
    activity_search(jsonb, text, uuid, uuid, timestamptz, uuid, integer)
    to clearview_app;

do $$
begin
    if exists (select 1 from pg_roles where rolname = 'clearview_search' and rolbypassrls) then
        grant usage on schema public to clearview_search;
        grant select on contacts, activities to clearview_search;
        alter function contact_search_estimate(text) owner to clearview_search;
        alter function contact_search(text, text, boolean, text, uuid, integer) owner to clearview_search;
        alter function contact_search_plan(text, text, boolean, text, uuid, integer) owner to clearview_search;
        alter function activity_search(jsonb, text, uuid, uuid, timestamptz, uuid, integer) owner to clearview_search;
        alter function activity_search_plan(jsonb, text, uuid, uuid, timestamptz, uuid, integer)
            owner to clearview_search;
        -- The owner now holds EXECUTE on the plan functions; the migrating role keeps it for tests and the benchmark.
        execute format('grant execute on function contact_search_plan(text, text, boolean, text, uuid, integer) to %I',
                       current_user);
        execute format('grant execute on function activity_search_plan(jsonb, text, uuid, uuid, timestamptz, uuid, '
                       'integer) to %I', current_user);
    end if;
exception when insufficient_privilege then
    raise notice 'search functions stay with %: search runs without its index', current_user;
end
$$;
