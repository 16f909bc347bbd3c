-- Back to 20261207000001_ranked_search: contact_words without `prev`, its gain/lose maintenance, and the search
-- function as that migration defined it; the index of word beginnings goes.
drop function contact_words_put(uuid[], uuid[], text[]);
drop function contact_words_drop(uuid[], uuid[], text[]);
drop function contact_vocabulary_trim(uuid[], text[]);
drop index contacts_prefixes_idx;
drop function search_prefixes(text);
drop index contact_words_idx;
alter table contact_words drop column prev;
create unique index contact_words_idx on contact_words (org_id, word, contact_id desc);

-- Words gained: into contact_words, and new ones into the vocabulary.
create function contact_words_gain(org_ids uuid[], words text[], ids uuid[]) returns void
    language sql
    begin atomic
        insert into public.contact_words (org_id, word, contact_id)
        select * from unnest(org_ids, words, ids)
        on conflict do nothing;
        insert into public.contact_vocabulary (org_id, word)
        select distinct o, w from unnest(org_ids, words) as g (o, w)
        on conflict do nothing;
    end;

-- Words lost: out of contact_words, and out of the vocabulary when no contact of the workspace has them any more.
create function contact_words_lose(org_ids uuid[], words text[], ids uuid[]) returns void
    language sql
    begin atomic
        delete from public.contact_words cw using unnest(org_ids, words, ids) as g (o, w, i)
        where cw.org_id = g.o and cw.word = g.w and cw.contact_id = g.i;
        delete from public.contact_vocabulary v using (select distinct o, w from unnest(org_ids, words) as g (o, w)) as g
        where v.org_id = g.o and v.word = g.w
          and not exists (select 1 from public.contact_words cw where cw.org_id = g.o and cw.word = g.w);
    end;

create or replace function contact_words_added() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, public
as $$
begin
    perform public.contact_words_gain(array_agg(n.org_id), array_agg(w), array_agg(n.id))
    from added n, unnest(public.search_words(n.search)) as w;
    return null;
end
$$;

create or replace function contact_words_changed() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, public
as $$
begin
    -- Only rows whose searched text changed; an owner or version change leaves the words as they are.
    perform public.contact_words_lose(array_agg(org_id), array_agg(w), array_agg(id)) from (
        select o.org_id, w, o.id from before_rows o join after_rows n on n.id = o.id, unnest(public.search_words(o.search)) as w
        where o.search is distinct from n.search
        except
        select o.org_id, w, o.id from before_rows o join after_rows n on n.id = o.id, unnest(public.search_words(n.search)) as w
        where o.search is distinct from n.search
    ) as gone;
    perform public.contact_words_gain(array_agg(org_id), array_agg(w), array_agg(id)) from (
        select o.org_id, w, o.id from before_rows o join after_rows n on n.id = o.id, unnest(public.search_words(n.search)) as w
        where o.search is distinct from n.search
        except
        select o.org_id, w, o.id from before_rows o join after_rows n on n.id = o.id, unnest(public.search_words(o.search)) as w
        where o.search is distinct from n.search
    ) as gained;
    return null;
end
$$;

create or replace function contact_words_removed() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, public
as $$
begin
    perform public.contact_words_lose(array_agg(o.org_id), array_agg(w), array_agg(o.id))
    from removed o, unnest(public.search_words(o.search)) as w;
    return null;
end
$$;

-- One page of a search, or (explain) the plans of the statements it ran, with why each was chosen.
--
-- Every statement has the term's words written in as literals (they hold no ASCII punctuation, so no pattern or
-- regular-expression character; quoted all the same) and takes $1 the workspace, $2 the cursor's key, $3 its id,
-- $4 the rows still wanted, $5 candidate ids, $6 the cursor's word.
--
-- A term word stands for a set of contact words: those it starts, and for a lone word of three characters or more
-- those it is inside of (found in the vocabulary). When one word's set has at most 2,000 rows, or the trigram index
-- finds at most 2,000 contacts holding two or more words of three characters or more, those are the candidates:
-- read, checked and ordered whole. Otherwise the matches are common, and an order is walked with every word as a
-- filter on the searched text, which most rows pass.
--
-- Relevance, rank 1: every word at a word start, by (the word the driver matched, id desc), each contact once; the
-- driver is the longest word. Rank 2 (a lone word of three characters or more): the contacts of each vocabulary word
-- that has it inside, word by word in order, newest first within a word, each contact once.
-- A column order: the candidates sorted, or the column's index walked.
create or replace function contact_search_core(term text, sort text, descending boolean, after_rank smallint, after_key text,
                                    after_id uuid, lim integer, explain boolean)
    returns table (id uuid, rank smallint, sort_key text, line text)
    language plpgsql volatile security definer
    set search_path = pg_catalog, public
    set enable_indexscan = on -- restored on exit
as $$
declare
    org uuid := public.app_org_id();
    words text[] := public.search_words(public.search_fold(term));
    n integer := coalesce(cardinality(words), 0);
    few constant integer := 2000;
    after_word text := case when after_rank in (1, 2) then split_part(after_key, ' ', 2) end;
    inside text[] := '{}';
    starts text := '';    -- every word at a word start
    others text := '';    -- every word but the driver at a word start
    matches text := '';   -- every word as it matches: anywhere for a lone word of three characters or more
    longs text := '';     -- the trigram index's conditions: every word of three characters or more
    long_words integer := 0;
    ids uuid[];
    found_by text;
    i integer;
    k integer;
    got integer := 0;
    driver text;
    v text;
    col text;
    op text := case when descending then '<' else '>' end;
    dir text := case when descending then 'desc' else 'asc' end;
    note text;
    sql text;
begin
    if org is null or n = 0 then
        return;
    end if;
    -- The longest word drives (ties: the last in byte order), the rest in the same order.
    words := array(select x from unnest(words) as x order by length(x) desc, x collate "C" desc);
    driver := words[1];
    for i in 1 .. n loop
        starts := starts || format(' and c.search ~ %L', '(^|[[:space:][:punct:]])' || words[i]);
        if i > 1 then
            others := others || format(' and c.search ~ %L', '(^|[[:space:][:punct:]])' || words[i]);
        end if;
        if length(words[i]) >= 3 then
            longs := longs || format(' and c.search like %L', '%' || words[i] || '%');
            long_words := long_words + 1;
        end if;
    end loop;
    if n = 1 and length(driver) >= 3 then
        matches := longs;
        execute format('select array(select x.word from public.contact_vocabulary x where x.org_id = $1 '
                       'and x.word like %L and not (x.word >= %L and x.word < %L) order by x.word)',
                       '%' || driver || '%', driver, driver || chr(1114111))
            into inside using org;
    else
        matches := starts;
    end if;

    -- Candidates: a word's set of at most `few` rows, else the trigram index's, if it finds at most `few` contacts.
    -- Relevance's rank 1 of a lone word never needs them (its range is already in page order).
    if n > 1 or sort <> 'relevance' then
        for i in 1 .. n loop
            execute format('select array(select o.contact_id from public.contact_words o where o.org_id = $1 '
                           'and ((o.word >= %L and o.word < %L)%s) limit %s)',
                           words[i], words[i] || chr(1114111),
                           case when n = 1 and cardinality(inside) > 0
                                then format(' or o.word = any(%L::text[])', inside) else '' end,
                           few + 1)
                into ids using org;
            if cardinality(ids) <= few then
                found_by := format('the %s rows of %L', cardinality(ids), words[i]);
                exit;
            end if;
            ids := null;
        end loop;
        -- The trigram index narrows down only where two words meet: one word's matches hold its range (not few).
        if ids is null and long_words >= 2 then
            perform set_config('enable_indexscan', 'off', true);
            execute 'select array(select c.id from public.contacts c where c.org_id = $1' || longs
                    || ' limit ' || (few + 1) || ')'
                into ids using org;
            perform set_config('enable_indexscan', 'on', true);
            if cardinality(ids) <= few then
                found_by := format('the trigram index''s %s contacts', cardinality(ids));
            else
                ids := null;
            end if;
        end if;
        if ids is not null then
            ids := array(select distinct x from unnest(ids) as x);
        end if;
    end if;

    if sort <> 'relevance' then
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
        -- The candidates are read by id first (materialized), so the planner cannot trade that for another scan.
        sql := case when ids is null then '' else
                   'with c as materialized (select c.* from unnest($5::uuid[]) as i (id) '
                   'join public.contacts c on c.org_id = $1 and c.id = i.id) ' end
            || 'select c.id, 0::smallint, ' || coalesce('c.' || col, '''''') || '::text, null::text '
            || case when ids is null then 'from public.contacts c where c.org_id = $1' else 'from c where true' end
            || matches;
        if after_id is not null then
            sql := sql || case when col is null then format(' and c.id %s $3', op)
                               else format(' and (c.%I, c.id) %s ($2, $3)', col, op) end;
        end if;
        sql := sql || case when col is null then format(' order by c.id %s', dir)
                           else format(' order by c.%I %s, c.id %s', col, dir, dir) end || ' limit $4';
        note := case when ids is null then format('%s order walked (no few candidates)', sort)
                     else format('candidates (%s) sorted by %s', found_by, sort) end;
        if explain then
            return query select null::uuid, null::smallint, null::text, x
                from public.contact_search_explain(note, sql, org, after_key, after_id, lim, ids, after_word) as x;
        end if;
        return query execute sql using org, after_key, after_id, lim, ids, after_word;
        return;
    end if;

    if after_rank is null or after_rank <= 1 then
        if after_rank = 1 and split_part(after_key, ' ', 1) <> driver then
            raise exception 'the cursor belongs to another search' using errcode = 'CV003';
        end if;
        if ids is not null then
            -- Few candidates: each at the first of its words in the driver's range, ordered whole.
            sql := format('with c as materialized (select c.id, c.search from unnest($5::uuid[]) as i (id) '
                          'join public.contacts c on c.org_id = $1 and c.id = i.id) '
                          'select m.id, 1::smallint, %L || m.word, null::text from ('
                          'select c.id, (select min(x collate "C") from unnest(public.search_words(c.search)) as x '
                          'where x collate "C" >= %L and x collate "C" < %L) as word '
                          'from c where true%s) as m where m.word is not null',
                          driver || ' ', driver, driver || chr(1114111), starts)
                || case when after_rank = 1 then ' and m.word >= $6 and (m.word > $6 or m.id < $3)' else '' end
                || ' order by m.word, m.id desc limit $4';
            note := format('rank 1: candidates (%s) ordered whole', found_by);
        else
            -- The driver's range of contact_words in order, every other word a filter.
            sql := format('select w.contact_id, 1::smallint, %L || w.word, null::text from public.contact_words w '
                          'join public.contacts c on c.org_id = w.org_id and c.id = w.contact_id '
                          'where w.org_id = $1 and w.word >= %L and w.word < %L',
                          driver || ' ', driver, driver || chr(1114111))
                || case when after_rank = 1 then ' and w.word >= $6 and (w.word > $6 or w.contact_id < $3)' else '' end
                || others
                || format(' and not exists (select 1 from unnest(public.search_words(c.search)) as x '
                          'where x collate "C" >= %L and x collate "C" < w.word)', driver)
                || ' order by w.word, w.contact_id desc limit $4';
            note := format('rank 1: the range of %L walked', driver);
        end if;
        if explain then
            return query select null::uuid, null::smallint, null::text, x
                from public.contact_search_explain(note, sql, org, after_key, after_id, lim, ids, after_word) as x;
        end if;
        return query execute sql using org, after_key, after_id, lim, ids, after_word;
        get diagnostics got = row_count;
        if got >= lim then
            return;
        end if;
    end if;

    if n = 1 and cardinality(inside) > 0 then
        foreach v in array inside loop
            continue when after_rank = 2 and v collate "C" < after_word;
            sql := format('select w.contact_id, 2::smallint, %L || w.word, null::text from public.contact_words w '
                          'join public.contacts c on c.org_id = w.org_id and c.id = w.contact_id '
                          'where w.org_id = $1 and w.word = %L', driver || ' ', v)
                || case when after_rank = 2 and v = after_word then ' and w.contact_id < $3' else '' end
                || format(' and not exists (select 1 from unnest(public.search_words(c.search)) as x '
                          'where (x collate "C" >= %L and x collate "C" < %L) or (x collate "C" < w.word '
                          'and x = any(%L::text[])))', driver, driver || chr(1114111), inside)
                || ' order by w.contact_id desc limit $4';
            if explain then
                note := format('rank 2: inside %L, one of the %s vocabulary words that have %L inside', v,
                               cardinality(inside), driver);
                return query select null::uuid, null::smallint, null::text, x
                    from public.contact_search_explain(note, sql, org, after_key, after_id, lim - got, ids,
                                                       after_word) as x;
            end if;
            return query execute sql using org, after_key, after_id, lim - got, ids, after_word;
            get diagnostics k = row_count;
            got := got + k;
            exit when got >= lim;
        end loop;
    end if;
end
$$;

revoke execute on function contact_words_gain(uuid[], text[], uuid[]), contact_words_lose(uuid[], text[], uuid[])
    from public;
