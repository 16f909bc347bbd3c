-- Search pages that cost little for one word and for several (D-023, revised by D-025).
--
-- Measured at 1,000,000 contacts (BENCHMARKS.md): a lone word's page spent 2 of its 2.5 ms deciding, row by row,
-- whether a contact had already been listed under an earlier word of the range (splitting the contact's searched text
-- into words again, about 30 µs a row); two words spent 14 to 21 ms reading up to 2,001 ids of each word, then asking
-- the trigram index, then splitting text again to order the few. So:
--
-- * every row of contact_words carries `prev`, the contact's previous distinct word in byte order (null for its
--   first). A contact's first word in the range of a prefix p is the row whose prev is null or sorts before p, which
--   the index answers on its own (prev is an INCLUDE column): a lone word's page reads 51 index entries and nothing
--   else;
-- * two or more words first walk a bounded stretch of the driving word's range with the others as filters (common
--   words together: most rows pass), and only when that stretch is not enough ask a new GIN index of word beginnings
--   (`search_prefixes`) for the few contacts holding every word (rare words together), then order those by the word
--   a regular expression finds. The trigram index took 5 to 7 ms for two common words (every trigram of both, and
--   planning regular expressions); the beginnings' index intersects two exact keys in about 1 ms;
-- * the word of a contact's text that decides its place is found by one regular expression (about 4 µs), not by
--   splitting the text into all its words.
--
-- contact_words is rebuilt with the new column (a table rewrite rather than 5.5 million updates at 1M contacts).

drop function contact_words_gain(uuid[], text[], uuid[]);
drop function contact_words_lose(uuid[], text[], uuid[]);

create table contact_words_next (
    org_id uuid not null references organizations (id) on delete cascade,
    word text collate "C" not null,
    contact_id uuid not null,
    prev text collate "C"
);
insert into contact_words_next (org_id, word, contact_id, prev)
select org_id, word, contact_id, lag(word) over (partition by org_id, contact_id order by word)
from contact_words;
drop table contact_words;
alter table contact_words_next rename to contact_words;
alter table contact_words rename constraint contact_words_next_org_id_fkey to contact_words_org_id_fkey;
create unique index contact_words_idx on contact_words (org_id, word, contact_id desc) include (prev);
alter table contact_words enable row level security;
alter table contact_words force row level security;
create policy tenant on contact_words using (org_id = app_org_id()) with check (org_id = app_org_id());

-- Every word of these contacts' searched texts into contact_words, each with the contact's previous word, and new
-- words into the vocabulary.
create function contact_words_put(org_ids uuid[], ids uuid[], searches text[]) returns void
    language sql
    begin atomic
        insert into public.contact_words (org_id, word, contact_id, prev)
        select g.o, w.word, g.i, lag(w.word) over (partition by g.o, g.i order by w.word collate "C")
        from unnest(org_ids, ids, searches) as g (o, i, s), unnest(public.search_words(g.s)) as w (word);
        insert into public.contact_vocabulary (org_id, word)
        select distinct g.o, w.word from unnest(org_ids, searches) as g (o, s), unnest(public.search_words(g.s)) as w (word)
        on conflict do nothing;
    end;

-- Every word of these (former) searched texts out of contact_words.
create function contact_words_drop(org_ids uuid[], ids uuid[], searches text[]) returns void
    language sql
    begin atomic
        delete from public.contact_words cw
        using unnest(org_ids, ids, searches) as g (o, i, s), unnest(public.search_words(g.s)) as w (word)
        where cw.org_id = g.o and cw.word = w.word and cw.contact_id = g.i;
    end;

-- The words of these former texts out of the vocabulary where no contact of the workspace has them any more.
create function contact_vocabulary_trim(org_ids uuid[], searches text[]) returns void
    language sql
    begin atomic
        delete from public.contact_vocabulary v
        using (select distinct g.o, w.word from unnest(org_ids, searches) as g (o, s),
                   unnest(public.search_words(g.s)) as w (word)) as g
        where v.org_id = g.o and v.word = g.word
          and not exists (select 1 from public.contact_words cw where cw.org_id = g.o and cw.word = g.word);
    end;

create or replace function contact_words_added() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, public
as $$
begin
    perform public.contact_words_put(array_agg(n.org_id), array_agg(n.id), array_agg(n.search)) from added n;
    return null;
end
$$;

-- A contact whose searched text changed has all its rows rewritten: one new word changes the prev of the next.
create or replace function contact_words_changed() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, public
as $$
declare
    org_ids uuid[];
    ids uuid[];
    befores text[];
    afters text[];
begin
    -- Only rows whose searched text changed; an owner or version change leaves the words as they are.
    select array_agg(o.org_id), array_agg(o.id), array_agg(o.search), array_agg(n.search)
    into org_ids, ids, befores, afters
    from before_rows o join after_rows n on n.id = o.id
    where o.search is distinct from n.search;
    if ids is not null then
        perform public.contact_words_drop(org_ids, ids, befores);
        perform public.contact_words_put(org_ids, ids, afters);
        perform public.contact_vocabulary_trim(org_ids, befores);
    end if;
    return null;
end
$$;

create or replace function contact_words_removed() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, public
as $$
declare
    org_ids uuid[];
    ids uuid[];
    befores text[];
begin
    select array_agg(o.org_id), array_agg(o.id), array_agg(o.search) into org_ids, ids, befores from removed o;
    if ids is not null then
        perform public.contact_words_drop(org_ids, ids, befores);
        perform public.contact_vocabulary_trim(org_ids, befores);
    end if;
    return null;
end
$$;

-- The beginnings (1 to 6 characters) of every word of a folded text. Its GIN index intersects the contacts holding
-- each word of a term as exact keys, where a trigram or a prefix (`:*`) query would first gather every word with
-- that beginning; a term word longer than 6 characters is looked up by its first 6 and checked on the row.
create function search_prefixes(folded text) returns text[]
    language sql immutable strict parallel safe
    return array(
        select distinct left(w, k) from unnest(search_words(folded)) as w, generate_series(1, least(length(w), 6)) as k
    );
create index contacts_prefixes_idx on contacts using gin (search_prefixes(search));

-- One page of a search, or (explain) the plans of the statements it ran, with why each was chosen.
--
-- Every statement has the term's words written in as literals (they hold no ASCII punctuation, so no pattern or
-- regular-expression character; quoted all the same) and takes $1 the workspace, $2 the cursor's key, $3 its id,
-- $4 the rows still wanted, $5 candidate ids, $6 the cursor's word.
--
-- Relevance, rank 1: every word at a word start, by (the word the driver matched, id desc), each contact once, under
-- the first of its words in the driver's range; the driver is the longest word. Rank 2 (a lone word of three
-- characters or more): the contacts of each vocabulary word that has it inside, word by word in order, newest first
-- within a word, each contact once.
--
-- Rank 1 of a lone word is its range of contact_words. Of several words: the first `stretch` rows of the driver's
-- range, the other words as filters on the contact's searched text, when that fills the page or is the whole range;
-- else, when at the stretch's rate a walk would not find the page within `few` rows, the contacts holding every word,
-- found by the prefix index, ordered whole if they are at most `few`; else the driver's whole range walked with the
-- filters. These statements are static: their plans are kept.
-- A column order: candidates (a word's set of at most `few` rows, or the trigram index's) sorted, or the column's
-- index walked.
create or replace function contact_search_core(term text, sort text, descending boolean, after_rank smallint,
                                               after_key text, after_id uuid, lim integer, explain boolean)
    returns table (id uuid, rank smallint, sort_key text, line text)
    language plpgsql volatile security definer
    set search_path = pg_catalog, public
    set enable_indexscan = on -- restored on exit
    -- The static statements' plans are made once per connection and kept: a plan for the actual words costs more to
    -- make than these statements take to run (measured: 0.6 ms to plan a join with contacts, under 1 ms to run it).
    set plan_cache_mode = force_generic_plan
as $$
declare
    org uuid := public.app_org_id();
    words text[] := public.search_words(public.search_fold(term));
    n integer := coalesce(cardinality(words), 0);
    few constant integer := 1000;
    stretch integer := lim;
    after_word text := case when after_rank in (1, 2) then split_part(after_key, ' ', 2) end;
    sep constant text := '[[:space:][:punct:]]';
    inside text[] := '{}';
    starts text := '';    -- every word at a word start
    matches text := '';   -- every word as it matches: anywhere for a lone word of three characters or more
    longs text := '';     -- the trigram index's conditions: every word of three characters or more
    long_words integer := 0;
    ids uuid[];
    keys text[];
    keys_of text[];
    others_of text[];
    pats_of text[];
    word_of text;
    start_of text;
    earlier text;
    cur_word text;
    lo text;
    hi text;
    matched integer;
    found_by text;
    i integer;
    k integer;
    got integer := 0;
    driver text;
    range_sql text;
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
        starts := starts || format(' and c.search ~ %L', '(^|' || sep || ')' || words[i]);
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

    if sort <> 'relevance' then
        -- Candidates: a word's set of at most `few` rows, else the trigram index's, if it finds at most `few`.
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

    -- Relevance. The statements that run are static (their plans are kept: planning one that joins contacts took
    -- longer than running it); the same statements with the words written in are what `explain` shows.
    others_of := array(select '(^|' || sep || ')' || x from unnest(words[2:]) as x);
    start_of := '(^|' || sep || ')' || driver;
    if after_rank is null or after_rank <= 1 then
        if after_rank = 1 and split_part(after_key, ' ', 1) <> driver then
            raise exception 'the cursor belongs to another search' using errcode = 'CV003';
        end if;
        cur_word := case when after_rank = 1 then after_word end;
        lo := coalesce(cur_word, driver);
        hi := driver || chr(1114111);
        -- The driver's range of contact_words from the cursor on, each contact under its first word of the range.
        range_sql := format('from public.contact_words w where w.org_id = $1 and w.word >= %L and w.word < %L '
                            'and (w.prev is null or w.prev < %L)', lo, hi, driver)
            || case when after_rank = 1 then ' and (w.word > $6 or w.contact_id < $3)' else '' end
            || ' order by w.word, w.contact_id desc';
        if n = 1 then
            if explain then
                return query select null::uuid, null::smallint, null::text, x
                    from public.contact_search_explain(format('rank 1: the range of %L read', driver),
                        format('select w.contact_id %s limit $4', range_sql), org, after_key, after_id, lim, null,
                        after_word) as x;
            end if;
            return query
                select w.contact_id, 1::smallint, driver || ' ' || w.word, null::text
                from public.contact_words w
                where w.org_id = org and w.word >= lo and w.word < hi and (w.prev is null or w.prev < driver)
                  and (cur_word is null or w.word > cur_word or w.contact_id < after_id)
                order by w.word, w.contact_id desc
                limit lim;
            get diagnostics got = row_count;
        else
            -- A stretch of the range, the other words as filters: enough when they are common together.
            select array_agg(m.contact_id order by m.word, m.contact_id desc),
                   array_agg(m.word order by m.word, m.contact_id desc)
            into ids, keys
            from (select w.contact_id, w.word
                  from (select w.contact_id, w.word from public.contact_words w
                        where w.org_id = org and w.word >= lo and w.word < hi and (w.prev is null or w.prev < driver)
                          and (cur_word is null or w.word > cur_word or w.contact_id < after_id)
                        order by w.word, w.contact_id desc
                        limit stretch) as w
                  join public.contacts c on c.org_id = org and c.id = w.contact_id
                  where c.search ~ all (others_of)
                  order by w.word, w.contact_id desc
                  limit lim) as m;
            matched := coalesce(cardinality(ids), 0);
            if matched < lim then
                -- Is there more of the range after the stretch?
                select count(*) into k from (
                    select 1 from public.contact_words w
                    where w.org_id = org and w.word >= lo and w.word < hi and (w.prev is null or w.prev < driver)
                      and (cur_word is null or w.word > cur_word or w.contact_id < after_id)
                    order by w.word, w.contact_id desc
                    offset stretch limit 1) as x;
            end if;
            if matched = lim or k = 0 then
                -- The stretch's rows are the page (or the whole rest of the range).
                if explain then
                    return query select null::uuid, null::smallint, null::text, x
                        from public.contact_search_explain(
                            format('rank 1: a stretch of %s rows of the range of %L, %s more words as filters',
                                   stretch, driver, n - 1),
                            format('select w.contact_id from (select w.contact_id, w.word %s limit %s) as w '
                                   'join public.contacts c on c.org_id = $1 and c.id = w.contact_id '
                                   'where c.search ~ all (%L) order by w.word, w.contact_id desc limit $4',
                                   range_sql, stretch, others_of),
                            org, after_key, after_id, lim, null, after_word) as x;
                end if;
                return query select x.id, 1::smallint, driver || ' ' || x.word, null::text
                    from unnest(ids, keys) with ordinality as x (id, word, n) order by x.n;
                return;
            end if;
            ids := null;
            -- At the stretch's rate a walk would not find the page within `few` rows: the words are rare together.
            if matched * few < stretch * lim then
                -- The words' beginnings as the index's keys; a lone letter beside longer words only on the row (its
                -- key lists most contacts, and reading them cost more than the check). The contacts holding every
                -- word, as the prefix index intersects them, each with the first of its words in the driver's range.
                keys_of := array(select left(x, 6) from unnest(words) as x where length(x) > 1 or length(driver) = 1);
                perform set_config('enable_indexscan', 'off', true);
                pats_of := start_of || others_of;
                word_of := '(?:^|' || sep || ')(' || driver || '[^[:space:][:punct:]]*)';
                select array_agg(m.id), array_agg(m.word) into ids, keys from (
                    select c.id, (select min(left(x[1], 100) collate "C") from regexp_matches(c.search, word_of, 'g')
                                  as x) as word
                    from public.contacts c
                    where c.org_id = org and public.search_prefixes(c.search) @> keys_of and c.search ~ all (pats_of)
                    limit few + 1
                ) as m;
                perform set_config('enable_indexscan', 'on', true);
                if coalesce(cardinality(ids), 0) <= few then
                    if explain then
                        line := format('rank 1: the prefix index''s %s contacts holding every word, ordered whole',
                                       coalesce(cardinality(ids), 0));
                        return next;
                        return query select null::uuid, null::smallint, null::text, x
                            from public.contact_search_explain(
                                'the candidates: search_prefixes(search) @> the words'' first 6 characters',
                                format('select c.id from public.contacts c where c.org_id = $1 and '
                                       'public.search_prefixes(c.search) @> %L and c.search ~ all (%L) limit %s',
                                       keys_of, start_of || others_of, few + 1),
                                org, after_key, after_id, lim, null, after_word) as x;
                        return;
                    end if;
                    return query select x.id, 1::smallint, driver || ' ' || x.word, null::text
                        from unnest(ids, keys) as x (id, word)
                        where cur_word is null or (x.word >= cur_word and (x.word > cur_word or x.id < after_id))
                        order by x.word collate "C", x.id desc
                        limit lim;
                    return;
                end if;
            end if;
            -- Neither: the whole range walked (the words are common together further on).
            if explain then
                return query select null::uuid, null::smallint, null::text, x
                    from public.contact_search_explain(
                        format('rank 1: the range of %L walked, %s more words as filters', driver, n - 1),
                        format('select w.contact_id from (select w.contact_id, w.word %s) as w '
                               'join public.contacts c on c.org_id = $1 and c.id = w.contact_id '
                               'where c.search ~ all (%L) order by w.word, w.contact_id desc limit $4',
                               range_sql, others_of),
                        org, after_key, after_id, lim, null, after_word) as x;
            end if;
            return query
                select w.contact_id, 1::smallint, driver || ' ' || w.word, null::text
                from (select w.contact_id, w.word from public.contact_words w
                      where w.org_id = org and w.word >= lo and w.word < hi and (w.prev is null or w.prev < driver)
                        and (cur_word is null or w.word > cur_word or w.contact_id < after_id)
                      order by w.word, w.contact_id desc) as w
                join public.contacts c on c.org_id = org and c.id = w.contact_id
                where c.search ~ all (others_of)
                order by w.word, w.contact_id desc
                limit lim;
            return;
        end if;
        if got >= lim then
            return;
        end if;
    end if;

    -- Rank 2: a lone word inside words, word by word. A contact once: not when a word of it starts with the driver
    -- (rank 1 listed it), and only under the first of its words with the driver inside (none of the earlier
    -- vocabulary words is a whole word of it).
    if n = 1 and cardinality(inside) > 0 then
        for i in 1 .. cardinality(inside) loop
            v := inside[i];
            continue when after_rank = 2 and v collate "C" < after_word;
            earlier := case when i > 1 then
                '(^|' || sep || ')(' || array_to_string(array(
                    select x || case when length(x) < 100 then '($|' || sep || ')' else '' end
                    from unnest(inside[1:i - 1]) as x), '|') || ')' end;
            if explain then
                return query select null::uuid, null::smallint, null::text, x
                    from public.contact_search_explain(
                        format('rank 2: inside %L, one of the %s vocabulary words that have %L inside', v,
                               cardinality(inside), driver),
                        format('select w.contact_id from public.contact_words w join public.contacts c '
                               'on c.org_id = w.org_id and c.id = w.contact_id where w.org_id = $1 and w.word = %L'
                               '%s and c.search !~ %L%s order by w.contact_id desc limit $4', v,
                               case when after_rank = 2 and v = after_word then ' and w.contact_id < $3' else '' end,
                               start_of, case when earlier is null then '' else format(' and c.search !~ %L', earlier)
                               end),
                        org, after_key, after_id, lim - got, null, after_word) as x;
            end if;
            return query
                select w.contact_id, 2::smallint, driver || ' ' || w.word, null::text
                from public.contact_words w
                join public.contacts c on c.org_id = w.org_id and c.id = w.contact_id
                where w.org_id = org and w.word = v
                  and (after_rank is distinct from 2 or v <> after_word or w.contact_id < after_id)
                  and c.search !~ start_of
                  and (earlier is null or c.search !~ earlier)
                order by w.contact_id desc
                limit lim - got;
            get diagnostics k = row_count;
            got := got + k;
            exit when got >= lim;
        end loop;
    end if;
end
$$;

revoke execute on function
    contact_words_put(uuid[], uuid[], text[]), contact_words_drop(uuid[], uuid[], text[]),
    contact_vocabulary_trim(uuid[], text[])
    from public;

do $$
begin
    if exists (select 1 from pg_roles where rolname = 'clearview_search' and rolbypassrls) then
        grant select on contact_words to clearview_search;
    end if;
exception when insufficient_privilege then
    raise notice 'contact_words stays unreadable to clearview_search: search runs without its index';
end
$$;
