//! A benchmark workspace filled to the asked totals with set-based SQL.

use super::names::*;
use super::*;

/// A UUIDv7 (creation-ordered like the app's ids) for the timestamp `{at}`: the millisecond time in the first 48 bits
/// and version 7 over a random UUID.
fn uuid_v7_sql(at: &str) -> String {
    format!(
        "encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid()) placing \
         substring(int8send((extract(epoch from {at}) * 1000)::bigint) from 3) from 1 for 6), 52, 1), 53, 1), 'hex')::uuid"
    )
}

/// A deterministic pseudo-random non-negative number for row `{i}` (one stream per `seed`).
fn hash_sql(i: &str, seed: u32) -> String {
    format!("(hashint8extended({i}, {seed}) & 9223372036854775807)")
}

pub(super) async fn bulk(pool: &PgPool, args: &SeedArgs) -> Result<()> {
    let started = Instant::now();
    let (scope, created) = workspace(
        pool,
        &args.org_email,
        &args.password,
        "Benchmark Admin",
        "Benchmark Workspace",
    )
    .await
    .context("creating the benchmark workspace")?;
    eprintln!(
        "seed: {} workspace {} of {}",
        if created { "created" } else { "reusing" },
        scope.org_id,
        args.org_email
    );
    let pipeline = default_pipeline(pool, &scope).await?;
    ensure_rot_days(pool, &scope, &pipeline).await?;

    // Its own connections, without the slow-statement log: every statement here is slow on purpose.
    let options = (*pool.connect_options())
        .clone()
        .disable_statement_logging();
    let bulk_pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(BULK_CONNECTIONS as u32)
        .acquire_timeout(Duration::from_secs(30))
        .connect_with(options)
        .await
        .context("connecting for the bulk writes")?;
    let filled = fill(&bulk_pool, &scope, &pipeline, args).await;
    bulk_pool.close().await;
    filled?;

    let mut tx = tenant(pool, &scope).await?;
    let (contacts, deals, activities): (i64, i64, i64) = sqlx::query_as(
        "select (select count(*) from contacts where org_id = $1),
                (select count(*) from deals where org_id = $1),
                (select count(*) from activities where org_id = $1)",
    )
    .bind(scope.org_id.0)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    seal(pool, &scope).await?;
    eprintln!(
        "seed: done in {:.1} s: {contacts} contacts, {deals} deals, {activities} activities",
        started.elapsed().as_secs_f64()
    );
    let login = if created {
        format!("{} / {}", args.org_email, args.password)
    } else {
        format!("{} (existing login, password unchanged)", args.org_email)
    };
    say(&format!("benchmark workspace ready: sign in as {login}"));
    Ok(())
}

/// The bulk writes, then vacuum (visibility maps for index-only reads of the word index, the trigram index's pending
/// list) and fresh statistics.
async fn fill(pool: &PgPool, scope: &Scope, pipeline: &Pipeline, args: &SeedArgs) -> Result<()> {
    if let Some(target) = args.contacts {
        bulk_contacts(pool, scope, i64::try_from(target)?).await?;
    }
    if let Some(target) = args.deals {
        bulk_deals(pool, scope, pipeline, i64::try_from(target)?).await?;
    }
    if let Some(target) = args.activities {
        bulk_activities(pool, scope, i64::try_from(target)?).await?;
    }
    let started = Instant::now();
    eprintln!("seed: vacuum and analyze");
    for table in [
        "contacts",
        "contact_words",
        "contact_vocabulary",
        "deals",
        "activities",
    ] {
        sqlx::query(&format!("vacuum (analyze) {table}"))
            .execute(pool)
            .await
            .with_context(|| format!("vacuum analyze {table}"))?;
    }
    eprintln!(
        "seed: vacuum and analyze took {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn count(pool: &PgPool, scope: &Scope, sql: &str) -> Result<i64> {
    let mut tx = tenant(pool, scope).await?;
    let n: i64 = sqlx::query_scalar(sql)
        .bind(scope.org_id.0)
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(n)
}

/// Tops the workspace up to `target` contacts, `CONTACT_BATCH` rows per statement. Row `i` (1-based over the
/// workspace) is created `target - i` × 90 s before now, so the newest contact is the last one written.
async fn bulk_contacts(pool: &PgPool, scope: &Scope, target: i64) -> Result<()> {
    let existing = count(
        pool,
        scope,
        "select count(*) from contacts where org_id = $1",
    )
    .await?;
    if existing >= target {
        eprintln!("seed: contacts: {existing} already, none added");
        return Ok(());
    }
    let firsts: Vec<String> = FIRST_NAMES.iter().map(|s| (*s).to_owned()).collect();
    let lasts: Vec<String> = LAST_NAMES.iter().map(|s| (*s).to_owned()).collect();
    let companies: Vec<String> = COMPANIES.iter().map(|s| (*s).to_owned()).collect();
    let domains: Vec<String> = COMPANIES.iter().map(|s| company_domain(s)).collect();
    let titles: Vec<String> = TITLES.iter().map(|s| (*s).to_owned()).collect();
    let phones: Vec<String> = PHONE_PREFIXES.iter().map(|s| (*s).to_owned()).collect();
    let personal: Vec<String> = PERSONAL_DOMAINS.iter().map(|s| (*s).to_owned()).collect();
    // The database's lower() may only know ASCII (a C-locale cluster): fold capitals with accents explicitly.
    let fold_from = format!("{FOLD_FROM}{}", FOLD_FROM.to_uppercase());
    let fold_to = format!("{FOLD_TO}{FOLD_TO}");

    // r: one row's choices; the outer select assembles the contact from them.
    let sql = format!(
        "insert into contacts (id, org_id, first_name, last_name, email, phone, company, title, owner_id,
                               created_at, updated_at)
         select {id}, $1, r.first_name, r.last_name,
                case when r.h3 % 25 >= 2 then
                    case r.h3 % 4
                        when 0 then left(r.f, 1) || r.l
                        when 1 then r.f || r.h2 % 100
                        else r.f || '.' || r.l
                    end || '@' || coalesce(r.domain, ($9::text[])[1 + r.h1 % 3])
                end,
                case when r.h4 % 4 <> 0 then ($8::text[])[1 + r.h4 % 6] || lpad((r.h5 % 10000)::text, 4, '0') end,
                r.company,
                case when r.company is not null and r.h5 % 5 <> 0 then ($7::text[])[1 + r.h6 % 30] end,
                $2, r.at, r.at
         from (
             select g.i, g.at, g.first_name, g.last_name, g.h1, g.h2, g.h3, g.h4, g.h5, g.h6,
                    case when g.h1 % 10 <> 0 then ($5::text[])[1 + g.h2 % 80] end as company,
                    case when g.h1 % 10 <> 0 then ($6::text[])[1 + g.h2 % 80] end as domain,
                    regexp_replace(lower(translate(g.first_name, $10, $11)), '[^a-z0-9]', '', 'g') as f,
                    regexp_replace(lower(translate(g.last_name, $10, $11)), '[^a-z0-9]', '', 'g') as l
             from (
                 select i, now() - ($12 - i) * interval '90 seconds' as at,
                        ($3::text[])[1 + {h7} % 120] as first_name, ($4::text[])[1 + {h8} % 120] as last_name,
                        {h1} as h1, {h2} as h2, {h3} as h3, {h4} as h4, {h5} as h5, {h6} as h6
                 from generate_series($13::bigint, $14::bigint) as i
             ) g
         ) r",
        id = uuid_v7_sql("r.at"),
        h1 = hash_sql("i", 1),
        h2 = hash_sql("i", 2),
        h3 = hash_sql("i", 3),
        h4 = hash_sql("i", 4),
        h5 = hash_sql("i", 5),
        h6 = hash_sql("i", 6),
        h7 = hash_sql("i", 7),
        h8 = hash_sql("i", 8),
    );
    let job = Arc::new(ContactBatches {
        sql,
        scope: scope.clone(),
        target,
        texts: [firsts, lasts, companies, domains, titles, phones, personal],
        fold: [fold_from, fold_to],
    });
    eprintln!(
        "seed: contacts: {existing} already, adding {}",
        target - existing
    );
    // Batches go to two connections at a time: the writes are CPU-bound in the database (index maintenance).
    let started = Instant::now();
    let next = Arc::new(AtomicI64::new(existing + 1));
    let done = Arc::new(AtomicI64::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..BULK_CONNECTIONS {
        let (pool, job, next, done) = (pool.clone(), job.clone(), next.clone(), done.clone());
        tasks.spawn(async move {
            loop {
                let first = next.fetch_add(CONTACT_BATCH, Ordering::Relaxed);
                if first > job.target {
                    return anyhow::Ok(());
                }
                let last = (first + CONTACT_BATCH - 1).min(job.target);
                job.insert(&pool, first, last).await?;
                let total = done.fetch_add(last - first + 1, Ordering::Relaxed) + last - first + 1;
                let secs = started.elapsed().as_secs_f64();
                eprintln!(
                    "seed: contacts: {}/{} ({secs:.1} s, {:.0} rows/s)",
                    existing + total,
                    job.target,
                    total as f64 / secs.max(0.001)
                );
            }
        });
    }
    while let Some(outcome) = tasks.join_next().await {
        outcome.context("a seeding task failed")??;
    }
    Ok(())
}

/// The bulk contact insert and its parameters, shared by the connections that run its batches.
struct ContactBatches {
    sql: String,
    scope: Scope,
    target: i64,
    /// First names, last names, companies, their domains, titles, phone prefixes, personal mail domains.
    texts: [Vec<String>; 7],
    /// Accented letters and their plain spelling.
    fold: [String; 2],
}

impl ContactBatches {
    /// Rows `first..=last` in one transaction of the workspace.
    async fn insert(&self, pool: &PgPool, first: i64, last: i64) -> Result<()> {
        let mut tx = tenant(pool, &self.scope).await?;
        // Fewer, larger flushes of the trigram index's pending list.
        sqlx::query("set local gin_pending_list_limit = '64MB'")
            .execute(&mut *tx)
            .await?;
        let mut query = sqlx::query(&self.sql)
            .bind(self.scope.org_id.0)
            .bind(self.scope.user_id.0);
        for list in &self.texts {
            query = query.bind(list);
        }
        query
            .bind(&self.fold[0])
            .bind(&self.fold[1])
            .bind(self.target)
            .bind(first)
            .bind(last)
            .execute(&mut *tx)
            .await
            .context("inserting contacts")?;
        tx.commit().await?;
        Ok(())
    }
}

/// Tops the default pipeline up to `target` open deals: 40 / 30 / 20 / 10 % over its open stages, appended at the end
/// of each column with the keys the board itself would make, each linked to one of the newest contacts.
async fn bulk_deals(pool: &PgPool, scope: &Scope, pipeline: &Pipeline, target: i64) -> Result<()> {
    let open: Vec<StageId> = pipeline
        .stages
        .iter()
        .filter(|s| s.kind == StageKind::Open)
        .map(|s| s.id)
        .collect();
    anyhow::ensure!(!open.is_empty(), "the default pipeline has no open stage");
    let mut tx = tenant(pool, scope).await?;
    let existing: i64 = sqlx::query_scalar(
        "select count(*) from deals d join pipeline_stages s on s.org_id = d.org_id and s.id = d.stage_id
         where d.org_id = $1 and d.pipeline_id = $2 and s.kind = 'open'",
    )
    .bind(scope.org_id.0)
    .bind(pipeline.id.0)
    .fetch_one(&mut *tx)
    .await?;
    if existing >= target {
        tx.commit().await?;
        eprintln!("seed: deals: {existing} open already, none added");
        return Ok(());
    }
    let add = target - existing;
    let weights: Vec<i64> = (0..open.len()).map(|i| (open.len() - i) as i64).collect();
    let total_weight: i64 = weights.iter().sum();
    let mut stage_ids = Vec::with_capacity(add as usize);
    let mut positions = Vec::with_capacity(add as usize);
    let mut left = add;
    for (n, (stage, weight)) in open.iter().zip(&weights).enumerate() {
        let k = if n + 1 == open.len() {
            left
        } else {
            add * weight / total_weight
        };
        left -= k;
        let mut key = deals::last_position(&mut tx, scope, *stage).await?;
        for _ in 0..k {
            let next = Position::between(key.as_ref(), None).map_err(|e| anyhow::anyhow!(e))?;
            stage_ids.push(stage.0);
            positions.push(next.as_str().to_owned());
            key = Some(next);
        }
    }
    let products: Vec<String> = PRODUCTS.iter().map(|s| (*s).to_owned()).collect();
    let sql = format!(
        "with picked as (
             select array_agg(id) as ids, array_agg(coalesce(company, first_name || ' ' || last_name)) as names,
                    count(*) as n
             from (select id, first_name, last_name, company from contacts where org_id = $1 order by id desc limit $6) c
         ), cards as (
             select d.stage_id, d.position, d.n,
                    now() - ({h1} % 120) * interval '1 day' - ({h2} % 86400) * interval '1 second' as entered,
                    {h3} as h3, {h4} as h4
             from unnest($4::uuid[], $5::text[]) with ordinality as d(stage_id, position, n)
         )
         insert into deals (id, org_id, pipeline_id, stage_id, contact_id, owner_id, title, amount_minor, currency,
                            position, expected_close, stage_entered_at, created_at, updated_at)
         select {id}, $1, $2, cards.stage_id, p.ids[1 + (cards.n - 1) % greatest(p.n, 1)], $3,
                coalesce(p.names[1 + (cards.n - 1) % greatest(p.n, 1)], 'New business')
                    || ' – ' || ($7::text[])[1 + cards.h3 % 16],
                (10 + cards.h4 % 490) * 50000, 'EUR', cards.position,
                case when cards.h3 % 3 = 0 then current_date + (7 + cards.h4 % 120)::int end,
                cards.entered, cards.entered - (cards.h4 % 30) * interval '1 day',
                cards.entered
         from cards cross join picked p",
        id = uuid_v7_sql("cards.entered - (cards.h4 % 30) * interval '1 day'"),
        h1 = hash_sql("d.n", 11),
        h2 = hash_sql("d.n", 12),
        h3 = hash_sql("d.n", 13),
        h4 = hash_sql("d.n", 14),
    );
    let started = Instant::now();
    let inserted = sqlx::query(&sql)
        .bind(scope.org_id.0)
        .bind(pipeline.id.0)
        .bind(scope.user_id.0)
        .bind(&stage_ids)
        .bind(&positions)
        .bind(add)
        .bind(&products)
        .execute(&mut *tx)
        .await
        .context("inserting deals")?
        .rows_affected();
    tx.commit().await?;
    eprintln!(
        "seed: deals: {existing} open already, added {inserted} over {} open stages ({:.1} s)",
        open.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Tops the workspace up to `target` activities over the last year: 60 % on a deal (and its contact), 40 % on one of
/// the newest 50,000 contacts alone. Calls carry duration, direction and outcome; e-mails, meetings and tasks their
/// details too, in the shapes the activity form validates.
async fn bulk_activities(pool: &PgPool, scope: &Scope, target: i64) -> Result<()> {
    let existing = count(
        pool,
        scope,
        "select count(*) from activities where org_id = $1",
    )
    .await?;
    if existing >= target {
        eprintln!("seed: activities: {existing} already, none added");
        return Ok(());
    }
    let people = count(
        pool,
        scope,
        "select count(*) from contacts where org_id = $1",
    )
    .await?;
    anyhow::ensure!(
        people > 0,
        "activities are logged against contacts and deals: seed --contacts first"
    );
    let sql = format!(
        "with d as (
             select array_agg(d.id) as ids, array_agg(d.contact_id) as contacts, array_agg(c.email::text) as emails,
                    array_agg(c.first_name) as names, count(*) as n
             from deals d left join contacts c on c.org_id = d.org_id and c.id = d.contact_id
             where d.org_id = $1
         ), c as (
             select array_agg(id) as ids, array_agg(email::text) as emails, array_agg(first_name) as names,
                    count(*) as n
             from (select id, email, first_name from contacts where org_id = $1 order by id desc limit 50000) s
         ), g as (
             select i, now() - ({h1} % (365 * 86400)) * interval '1 second' as at,
                    {h2} as h2, {h3} as h3, {h4} as h4, {h5} as h5
             from generate_series($3::bigint, $4::bigint) as i
         ), r as (
             select g.*, case when on_deal then d.ids[dk] end as deal_id,
                    case when on_deal then d.contacts[dk] else c.ids[ck] end as contact_id,
                    case when on_deal then d.emails[dk] else c.emails[ck] end as email,
                    coalesce(case when on_deal then d.names[dk] else c.names[ck] end, 'them') as first_name
             from g cross join d cross join c
             cross join lateral (
                 select g.h2 % 10 < 6 and d.n > 0 as on_deal,
                        1 + g.h3 % greatest(d.n, 1) as dk, 1 + g.h3 % greatest(c.n, 1) as ck
             ) pick
         ), k as (
             select r.*,
                    case
                        when r.h4 % 100 < 40 then 'call'
                        when r.h4 % 100 < 55 and r.email is not null then 'email'
                        when r.h4 % 100 < 70 then 'meeting'
                        when r.h4 % 100 < 90 then 'note'
                        else 'task'
                    end as kind,
                    case
                        when r.h5 % 100 < 55 then 'connected'
                        when r.h5 % 100 < 75 then 'voicemail'
                        when r.h5 % 100 < 90 then 'no_answer'
                        when r.h5 % 100 < 97 then 'busy'
                        else 'wrong_number'
                    end as outcome
             from r
         )
         insert into activities (id, org_id, kind, deal_id, contact_id, author_id, subject, body, occurred_at,
                                 metadata, created_at)
         select {id}, $1, k.kind, k.deal_id, k.contact_id, $2,
                case k.kind
                    when 'call' then case when k.outcome = 'connected' then 'Call with ' else 'Tried to reach ' end
                        || k.first_name
                    when 'email' then (array['Proposal sent', 'Follow-up', 'Pricing questions', 'Meeting recap'])
                        [1 + k.h2 % 4]
                    when 'meeting' then (array['Discovery meeting', 'Product demo', 'Quarterly review',
                        'Contract negotiation'])[1 + k.h2 % 4]
                    when 'note' then (array['Next steps', 'Budget confirmed', 'Decision maker identified',
                        'Competitor in the running'])[1 + k.h2 % 4]
                    else (array['Send the revised quote', 'Book a follow-up call', 'Prepare the contract'])
                        [1 + k.h2 % 3]
                end,
                case when k.kind = 'note' then 'Agreed to reconnect after their internal review.' end,
                k.at,
                case k.kind
                    when 'call' then jsonb_build_object(
                        'duration_seconds', case k.outcome
                            when 'connected' then 60 + k.h3 % 3540
                            when 'voicemail' then 15 + k.h3 % 60
                            else 0 end,
                        'direction', case when k.h4 % 10 < 6 then 'outbound' else 'inbound' end,
                        'outcome', k.outcome)
                    when 'email' then jsonb_build_object('to', jsonb_build_array(k.email), 'opens', k.h5 % 5)
                    when 'meeting' then jsonb_build_object(
                        'attendees', jsonb_build_array(k.first_name),
                        'location', case when k.h5 % 2 = 0 then 'Video call' else 'Their office' end,
                        'duration_minutes', (array[30, 45, 60, 90])[1 + k.h3 % 4])
                    when 'task' then jsonb_build_object(
                        'due_date', to_char(k.at + interval '7 days', 'YYYY-MM-DD'),
                        'done', k.at < now() - interval '7 days')
                    else '{{}}'::jsonb
                end,
                k.at
         from k",
        id = uuid_v7_sql("k.at"),
        h1 = hash_sql("i", 21),
        h2 = hash_sql("i", 22),
        h3 = hash_sql("i", 23),
        h4 = hash_sql("i", 24),
        h5 = hash_sql("i", 25),
    );
    let started = Instant::now();
    let mut tx = tenant(pool, scope).await?;
    sqlx::query("set local gin_pending_list_limit = '64MB'")
        .execute(&mut *tx)
        .await?;
    let inserted = sqlx::query(&sql)
        .bind(scope.org_id.0)
        .bind(scope.user_id.0)
        .bind(existing + 1)
        .bind(target)
        .execute(&mut *tx)
        .await
        .context("inserting activities")?
        .rows_affected();
    // A deal's latest activity is its latest sign of life (the board's staleness).
    sqlx::query(
        "update deals d set last_activity_at = a.last
         from (select deal_id, max(occurred_at) as last from activities where org_id = $1 and deal_id is not null
               group by deal_id) a
         where d.org_id = $1 and d.id = a.deal_id and d.last_activity_at is distinct from a.last",
    )
    .bind(scope.org_id.0)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    eprintln!(
        "seed: activities: {existing} already, added {inserted} ({:.1} s)",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
