//! The demo workspace: a small, realistic dataset written through the services.

use super::names::*;
use super::*;

fn rfc3339(t: OffsetDateTime) -> Result<String> {
    Ok(t.format(&Rfc3339)?)
}

// The demo workspace ------------------------------------------------------------------------------------------------

/// Creates the demo workspace if it does not exist, and fills it with sample data if it has no contacts yet.
pub async fn demo(pool: &PgPool) -> Result<()> {
    let (scope, _) = workspace(
        pool,
        DEMO_EMAIL,
        DEMO_PASSWORD,
        "Demo Admin",
        "Demo Workspace",
    )
    .await
    .context("creating the demo workspace")?;
    let mut tx = tenant(pool, &scope).await?;
    let has_contacts: bool =
        sqlx::query_scalar("select exists(select 1 from contacts where org_id = $1)")
            .bind(scope.org_id.0)
            .fetch_one(&mut *tx)
            .await?;
    tx.commit().await?;
    if has_contacts {
        tracing::info!("the demo workspace already has data; nothing added");
    } else {
        let started = Instant::now();
        demo_data(pool, &scope)
            .await
            .context("filling the demo workspace")?;
        tracing::info!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "demo workspace filled with sample contacts, deals and activities"
        );
    }
    seal(pool, &scope).await?;
    tracing::info!("demo workspace ready: sign in as {DEMO_EMAIL} with password {DEMO_PASSWORD}");
    Ok(())
}

struct DemoContact {
    id: ContactId,
    name: String,
    email: Option<String>,
    company: Option<String>,
}

struct DemoDeal {
    id: DealId,
    contact: usize,
    kind: StageKind,
    /// Days since the deal entered its stage.
    entered_days: i64,
    stale: bool,
}

async fn demo_data(pool: &PgPool, scope: &Scope) -> Result<()> {
    let mut rng = StdRng::seed_from_u64(20_261_122);
    let now = OffsetDateTime::now_utc();
    let pipeline = default_pipeline(pool, scope).await?;
    ensure_rot_days(pool, scope, &pipeline).await?;
    let pipeline = default_pipeline(pool, scope).await?;

    // About 200 people at 40 companies (a few without one), every name pair used once.
    let mut pairs: Vec<(usize, usize)> = (0..FIRST_NAMES.len())
        .flat_map(|f| (0..LAST_NAMES.len()).map(move |l| (f, l)))
        .collect();
    pairs.shuffle(&mut rng);
    let mut people = Vec::with_capacity(200);
    for (f, l) in pairs.into_iter().take(200) {
        let (first, last) = (FIRST_NAMES[f], LAST_NAMES[l]);
        let company = rng
            .gen_ratio(9, 10)
            .then(|| COMPANIES[rng.gen_range(0..40)].to_owned());
        let domain = company.as_deref().map_or_else(
            || PERSONAL_DOMAINS[rng.gen_range(0..PERSONAL_DOMAINS.len())].to_owned(),
            company_domain,
        );
        let local = match rng.gen_range(0..4) {
            0 => format!("{}{}", &mail_part(first)[..1], mail_part(last)),
            1 => mail_part(first),
            _ => format!("{}.{}", mail_part(first), mail_part(last)),
        };
        let email = rng.gen_ratio(23, 25).then(|| format!("{local}@{domain}"));
        let phone = rng.gen_ratio(3, 4).then(|| {
            format!(
                "{}{:04}",
                PHONE_PREFIXES[rng.gen_range(0..PHONE_PREFIXES.len())],
                rng.gen_range(0..10_000)
            )
        });
        let title = (company.is_some() && rng.gen_ratio(4, 5))
            .then(|| TITLES[rng.gen_range(0..TITLES.len())].to_owned());
        let input = ContactInput {
            first_name: first.into(),
            last_name: last.into(),
            email: email.clone(),
            phone,
            company: company.clone(),
            title,
            owner_id: None,
            version: None,
        };
        let contact = contacts::create(pool, scope, &input)
            .await
            .map_err(|e| anyhow::anyhow!("{e}: {:?}", e.fields()))?
            .finish_here(pool)
            .await?;
        people.push(DemoContact {
            id: contact.id,
            name: contact.full_name(),
            email,
            company,
        });
    }

    // 40 deals over the board: most early in the pipeline, a few won and lost; some idle past their stage's rot days.
    let stage = |name: &str| {
        pipeline
            .stages
            .iter()
            .find(|s| s.name == name)
            .with_context(|| format!("the default pipeline has no stage {name}"))
    };
    let open_first = pipeline
        .stages
        .iter()
        .find(|s| s.kind == StageKind::Open)
        .context("the default pipeline has no open stage")?;
    let plan: [(&str, usize); 6] = [
        ("Lead", 12),
        ("Qualified", 10),
        ("Proposal", 8),
        ("Negotiation", 5),
        ("Won", 3),
        ("Lost", 2),
    ];
    let with_company: Vec<usize> = (0..people.len())
        .filter(|i| people[*i].company.is_some())
        .collect();
    let mut buyers = with_company.clone();
    buyers.shuffle(&mut rng);
    let mut buyers = buyers.into_iter();
    let mut board = Vec::new();
    let mut open_count = 0;
    for (stage_name, count) in plan {
        let target = stage(stage_name)?;
        for _ in 0..count {
            let contact = buyers.next().context("not enough contacts for the deals")?;
            let person = &people[contact];
            let product = PRODUCTS[rng.gen_range(0..PRODUCTS.len())];
            let euros: i64 = rng.gen_range(4..=240) * 500;
            let expected_close = (matches!(stage_name, "Proposal" | "Negotiation")
                || rng.gen_ratio(1, 5))
                && target.kind == StageKind::Open;
            let form = DealForm {
                title: format!(
                    "{} – {product}",
                    person.company.as_deref().unwrap_or(&person.name)
                ),
                contact_id: Some(person.id),
                pipeline_id: Some(pipeline.id),
                // A deal cannot start lost: it is created open and then lost.
                stage_id: Some(if target.kind == StageKind::Lost {
                    open_first.id
                } else {
                    target.id
                }),
                amount: Some(AmountInput::Exact {
                    amount_minor: euros * 100,
                    currency: "EUR".into(),
                }),
                currency: None,
                probability: None,
                expected_close_date: expected_close
                    .then(|| (now.date() + time::Duration::days(rng.gen_range(7..90))).to_string()),
                owner_id: None,
            };
            let mut deal = deals::create(pool, scope, &form)
                .await
                .map_err(|e| anyhow::anyhow!("{e}: {:?}", e.fields()))?
                .finish_here(pool)
                .await?;
            if target.kind == StageKind::Lost {
                let reason = [
                    "Went with a competitor",
                    "No budget this year",
                    "Project cancelled",
                ][rng.gen_range(0..3)];
                let patch: DealPatch = serde_json::from_value(json!({
                    "version": deal.version,
                    "stage_id": target.id,
                    "lost_reason": reason,
                }))?;
                deal = deals::update(pool, scope, deal.id, &patch)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}: {:?}", e.fields()))?
                    .finish_here(pool)
                    .await?;
            }
            let rot = target.rot_days.map(i64::from);
            let (entered_days, stale) = match rot {
                Some(rot) if target.kind == StageKind::Open => {
                    open_count += 1;
                    // Every fifth open deal has been left alone for too long.
                    if open_count % 5 == 0 {
                        (rot + rng.gen_range(3..25), true)
                    } else {
                        (rng.gen_range(1..rot), false)
                    }
                }
                _ => (rng.gen_range(2..60), false),
            };
            board.push(DemoDeal {
                id: deal.id,
                contact,
                kind: target.kind,
                entered_days,
                stale,
            });
        }
    }

    // Dates as if the team had been working for a few months (writes no version: this is the seed, not an edit).
    let ids: Vec<Uuid> = board.iter().map(|d| d.id.0).collect();
    let entered: Vec<i32> = board.iter().map(|d| d.entered_days as i32).collect();
    let created: Vec<i32> = board
        .iter()
        .map(|d| (d.entered_days + rng.gen_range(0..45)) as i32)
        .collect();
    let mut tx = tenant(pool, scope).await?;
    sqlx::query(
        "update deals d set stage_entered_at = now() - make_interval(days => b.entered, hours => b.entered % 9),
             created_at = now() - make_interval(days => b.created, hours => b.entered % 9 + 1),
             closed_at = case when d.closed_at is not null then now() - make_interval(days => b.entered) end
         from unnest($2::uuid[], $3::int[], $4::int[]) as b(id, entered, created)
         where d.org_id = $1 and d.id = b.id",
    )
    .bind(scope.org_id.0)
    .bind(&ids)
    .bind(&entered)
    .bind(&created)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;

    // Calls, meetings and notes: recent ones on live deals, an old call on each stale one, a few on contacts alone.
    let outcomes = [
        ("connected", 120..2400),
        ("connected", 300..1800),
        ("voicemail", 20..60),
        ("no_answer", 0..1),
    ];
    for deal in &board {
        let person = &people[deal.contact];
        let days_ago = |rng: &mut StdRng| {
            if deal.stale {
                deal.entered_days + rng.gen_range(1..10)
            } else {
                rng.gen_range(0..deal.entered_days.clamp(1, 6))
            }
        };
        let log =
            |kind: &str, subject: String, body: Option<String>, at: OffsetDateTime, metadata| {
                ActivityInput {
                    kind: kind.into(),
                    deal_id: Some(deal.id),
                    contact_id: None,
                    subject,
                    body,
                    occurred_at: rfc3339(at).ok(),
                    utc_offset: None,
                    metadata,
                }
            };
        let mut inputs = Vec::new();
        let (outcome, seconds) = outcomes[rng.gen_range(0..outcomes.len())].clone();
        let duration = rng.gen_range(seconds);
        let first_name = person.name.split(' ').next().unwrap_or(&person.name);
        inputs.push(log(
            "call",
            match outcome {
                "connected" => format!("Call with {first_name}"),
                _ => format!("Tried to reach {first_name}"),
            },
            (outcome == "connected")
                .then(|| "Walked through requirements and timeline.".to_owned()),
            now - time::Duration::days(days_ago(&mut rng))
                - time::Duration::hours(rng.gen_range(1..8)),
            json!({
                "duration_seconds": duration,
                "direction": if rng.gen_ratio(3, 4) { "outbound" } else { "inbound" },
                "outcome": outcome,
            }),
        ));
        if !deal.stale && deal.kind == StageKind::Open && rng.gen_ratio(1, 2) {
            let minutes = [30, 45, 60][rng.gen_range(0..3)];
            inputs.push(log(
                "meeting",
                format!(
                    "Demo for {}",
                    person.company.as_deref().unwrap_or(&person.name)
                ),
                None,
                now - time::Duration::days(days_ago(&mut rng))
                    - time::Duration::hours(rng.gen_range(1..8)),
                json!({
                    "attendees": [person.name, "Demo Admin"],
                    "location": if rng.gen_ratio(1, 2) { "Video call" } else { "Their office" },
                    "duration_minutes": minutes,
                }),
            ));
        }
        if !deal.stale && rng.gen_ratio(1, 3) {
            inputs.push(log(
                "note",
                "Next steps".into(),
                Some("Send the revised quote and a reference customer in their industry.".into()),
                now - time::Duration::days(days_ago(&mut rng)),
                json!({}),
            ));
        }
        for input in inputs {
            activities::create(pool, scope, &input)
                .await
                .map_err(|e| anyhow::anyhow!("{e}: {:?}", e.fields()))?
                .finish_here(pool)
                .await?;
        }
    }
    let on_deals: Vec<usize> = board.iter().map(|d| d.contact).collect();
    let loose: Vec<usize> = (0..people.len())
        .filter(|i| !on_deals.contains(i) && people[*i].email.is_some())
        .take(8)
        .collect();
    for (n, i) in loose.into_iter().enumerate() {
        let person = &people[i];
        let at =
            rfc3339(now - time::Duration::days(rng.gen_range(0..20)) - time::Duration::hours(3))?;
        let input = if n % 2 == 0 {
            ActivityInput {
                kind: "email".into(),
                deal_id: None,
                contact_id: Some(person.id),
                subject: "Introduction and product overview".into(),
                body: None,
                occurred_at: Some(at),
                utc_offset: None,
                metadata: json!({"to": [person.email], "opens": rng.gen_range(0..4)}),
            }
        } else {
            ActivityInput {
                kind: "note".into(),
                deal_id: None,
                contact_id: Some(person.id),
                subject: "Met at the trade fair".into(),
                body: Some("Interested in a pilot next quarter; follow up in a few weeks.".into()),
                occurred_at: Some(at),
                utc_offset: None,
                metadata: json!({}),
            }
        };
        activities::create(pool, scope, &input)
            .await
            .map_err(|e| anyhow::anyhow!("{e}: {:?}", e.fields()))?
            .finish_here(pool)
            .await?;
    }
    Ok(())
}

// Bulk data for benchmarks ------------------------------------------------------------------------------------------
