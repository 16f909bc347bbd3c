//! Contacts, deals, the board and activities through the service layer, against a real PostgreSQL (a fresh database
//! per test): field errors, keyset pages, roles, workspace isolation, optimistic concurrency, board totals, audit rows.

use clearview::Error;
use clearview::db::Settle;
use clearview::domain::{ActivityKind, DealId, Role, StageId};
use clearview::model::{
    ActivityInput, ActivityQuery, AmountInput, ContactInput, ContactQuery, Deal, DealForm,
    DealPatch, NumberInput,
};
use clearview::services::{Scope, activities, board, contacts, deals, live};

use crate::common::{member, workspace};
use serde_json::json;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

fn person(first: &str, last: &str, company: &str) -> ContactInput {
    ContactInput {
        first_name: first.into(),
        last_name: last.into(),
        email: Some(format!(
            "{}.{}@example.com",
            first.to_lowercase(),
            last.to_lowercase()
        )),
        company: Some(company.into()),
        ..Default::default()
    }
}

async fn audit_count(pool: &PgPool, action: &str) -> i64 {
    sqlx::query_scalar("select count(*) from audit_log where action = $1")
        .bind(action)
        .fetch_one(pool)
        .await
        .expect("audit count")
}

fn deal_form(title: &str, amount: &str) -> DealForm {
    DealForm {
        title: title.into(),
        amount: Some(AmountInput::Text(amount.into())),
        currency: Some("EUR".into()),
        ..Default::default()
    }
}

/// Applies `patch` to `deal`, based on the version it carries.
async fn edit(
    pool: &PgPool,
    scope: &Scope,
    deal: &Deal,
    patch: DealPatch,
) -> clearview::Result<Deal> {
    let patch = DealPatch {
        version: deal.version,
        ..patch
    };
    deals::update(pool, scope, deal.id, &patch)
        .await
        .settle(pool)
        .await
}

/// Moves a deal to `stage`, based on the version the caller last saw.
async fn move_to(
    pool: &PgPool,
    scope: &Scope,
    id: DealId,
    version: i32,
    stage: StageId,
) -> clearview::Result<Deal> {
    let patch = DealPatch {
        version,
        stage_id: Some(stage),
        ..Default::default()
    };
    deals::update(pool, scope, id, &patch)
        .await
        .settle(pool)
        .await
}

/// The workspace's audit chain once sealed (as every reader of the log does first): seq 1..n without a gap, every
/// entry linked to the one before it and its hash recomputed from its content; none left pending.
async fn assert_audit_chain(pool: &PgPool, scope: &Scope) {
    clearview::services::audit::seal(pool, scope.org_id)
        .await
        .expect("sealing");
    let (entries, broken): (i64, i64) = sqlx::query_as(
        r#"select count(*), count(*) filter (where seq <> n or prev_hash <> expected_prev or hash <> expected_hash)
           from (
               select seq, prev_hash, hash, row_number() over (order by seq) as n,
                      lag(hash, 1, '\x'::bytea) over (order by seq) as expected_prev,
                      sha256(prev_hash || convert_to(concat_ws('|', id, org_id, seq,
                          to_char(at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'), actor_id, action,
                          entity_type, entity_id, request_id, changes::text), 'UTF8')) as expected_hash
               from audit_log where org_id = $1
           ) e"#,
    )
    .bind(scope.org_id.0)
    .fetch_one(pool)
    .await
    .expect("audit chain");
    assert!(entries > 0);
    assert_eq!(
        broken, 0,
        "{broken} of {entries} audit entries break the chain"
    );
}

async fn stage_named(pool: &PgPool, scope: &Scope, name: &str) -> StageId {
    let pipelines = clearview::services::pipelines::list(pool, scope)
        .await
        .expect("pipelines");
    pipelines[0]
        .stages
        .iter()
        .find(|s| s.name == name)
        .map(|s| s.id)
        .expect("default stage")
}

#[sqlx::test]
async fn bad_contact_input_gets_field_errors_and_writes_nothing(pool: PgPool) {
    let admin = workspace(&pool, "ada@example.com").await;
    let bad = ContactInput {
        first_name: "   ".into(),
        email: Some("not-an-address".into()),
        phone: Some("call me".into()),
        ..Default::default()
    };
    let Err(Error::Validation { fields, .. }) = contacts::create(&pool, &admin, &bad)
        .await
        .settle(&pool)
        .await
    else {
        panic!("expected field errors");
    };
    for field in ["first_name", "email", "phone"] {
        assert!(
            fields.contains_key(field),
            "no error for {field}: {fields:?}"
        );
    }
    let rows: i64 = sqlx::query_scalar("select count(*) from contacts")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(rows, 0);
    assert_eq!(audit_count(&pool, "contact.created").await, 0);
}

#[sqlx::test]
async fn contacts_search_and_keyset_pages_cover_every_row_once(pool: PgPool) {
    let admin = workspace(&pool, "ada@example.com").await;
    for i in 0..7 {
        contacts::create(
            &pool,
            &admin,
            &person("Grace", &format!("Hopper{i}"), "Navy"),
        )
        .await
        .settle(&pool)
        .await
        .unwrap();
    }
    contacts::create(&pool, &admin, &person("Alan", "Turing", "Bletchley Park"))
        .await
        .settle(&pool)
        .await
        .unwrap();
    assert_eq!(audit_count(&pool, "contact.created").await, 8);

    // Search matches name, e-mail and company, case-insensitively and by fragment.
    let found = contacts::list(
        &pool,
        &admin,
        &ContactQuery {
            q: "bletch".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(found.items.len(), 1);
    assert_eq!(found.items[0].last_name, "Turing");

    // Pages of 3 walk all 8 in name order, none twice.
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = contacts::list(
            &pool,
            &admin,
            &ContactQuery {
                cursor: cursor.clone(),
                limit: Some(3),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert!(page.items.len() <= 3);
        seen.extend(page.items.into_iter().map(|c| c.id));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen.len(), 8);
    let mut unique = seen.clone();
    unique.sort_by_key(|id| id.0);
    unique.dedup();
    assert_eq!(unique.len(), 8);

    // A forged cursor is a field error, not a 500.
    let bad = contacts::list(
        &pool,
        &admin,
        &ContactQuery {
            cursor: Some("garbage".into()),
            ..Default::default()
        },
    )
    .await;
    assert!(matches!(bad, Err(Error::Validation { .. })), "{bad:?}");
}

#[sqlx::test]
async fn a_stale_contact_update_is_a_conflict_and_loses_nothing(pool: PgPool) {
    let admin = workspace(&pool, "ada@example.com").await;
    let c = contacts::create(&pool, &admin, &person("Grace", "Hopper", "Navy"))
        .await
        .settle(&pool)
        .await
        .unwrap();
    let mut first = person("Grace", "Hopper", "US Navy");
    first.version = Some(c.version);
    let updated = contacts::update(&pool, &admin, c.id, &first)
        .await
        .settle(&pool)
        .await
        .unwrap();
    assert_eq!(updated.company.as_deref(), Some("US Navy"));
    assert_eq!(updated.version, c.version + 1);

    let mut second = person("Grace", "Hopper", "Yale");
    second.version = Some(c.version);
    let err = contacts::update(&pool, &admin, c.id, &second)
        .await
        .settle(&pool)
        .await;
    assert!(matches!(err, Err(Error::Conflict(_))), "{err:?}");
    let now = contacts::get(&pool, &admin, c.id).await.unwrap();
    assert_eq!(now.company.as_deref(), Some("US Navy"));
    assert_eq!(audit_count(&pool, "contact.updated").await, 1);
}

#[sqlx::test]
async fn roles_and_workspaces_bound_contact_access(pool: PgPool) {
    let admin = workspace(&pool, "ada@example.com").await;
    let rep = member(&pool, &admin, "rep@example.com", Role::Rep).await;
    let manager = member(&pool, &admin, "boss@example.com", Role::Manager).await;
    let stranger = workspace(&pool, "eve@example.com").await;

    let c = contacts::create(&pool, &rep, &person("Grace", "Hopper", "Navy"))
        .await
        .settle(&pool)
        .await
        .unwrap();
    assert_eq!(
        c.owner_id,
        Some(rep.user_id),
        "the creator owns a new contact"
    );

    // Another workspace's id is absent there: 404 on read, update and delete, and nothing changes.
    assert!(matches!(
        contacts::get(&pool, &stranger, c.id).await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        contacts::update(&pool, &stranger, c.id, &person("X", "Y", "Z"))
            .await
            .settle(&pool)
            .await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        contacts::delete(&pool, &stranger, c.id)
            .await
            .settle(&pool)
            .await,
        Err(Error::NotFound)
    ));
    let listed = contacts::list(&pool, &stranger, &ContactQuery::default())
        .await
        .unwrap();
    assert!(listed.items.is_empty());

    // Reps may not delete; managers may.
    assert!(matches!(
        contacts::delete(&pool, &rep, c.id)
            .await
            .settle(&pool)
            .await,
        Err(Error::Forbidden)
    ));
    contacts::get(&pool, &admin, c.id).await.unwrap();
    contacts::delete(&pool, &manager, c.id)
        .await
        .settle(&pool)
        .await
        .unwrap();
    assert!(matches!(
        contacts::get(&pool, &admin, c.id).await,
        Err(Error::NotFound)
    ));
    assert_eq!(audit_count(&pool, "contact.deleted").await, 1);
}

#[sqlx::test]
async fn a_deal_follows_its_stage_probability_until_a_manager_sets_one(pool: PgPool) {
    let admin = workspace(&pool, "ada@example.com").await;
    let rep = member(&pool, &admin, "rep@example.com", Role::Rep).await;
    let deal = deals::create(&pool, &rep, &deal_form("Difference engine", "1250.50"))
        .await
        .settle(&pool)
        .await
        .unwrap();
    assert_eq!(deal.stage_name, "Lead");
    assert_eq!(deal.probability, 10);
    assert!(!deal.probability_explicit);
    let amount = deal.amount.expect("amount");
    assert_eq!(
        (amount.amount_minor, amount.currency.as_str()),
        (125_050, "EUR")
    );

    // A rep may move their own deal; the probability follows the new stage.
    let proposal = stage_named(&pool, &rep, "Proposal").await;
    let moved = move_to(&pool, &rep, deal.id, deal.version, proposal)
        .await
        .unwrap();
    assert_eq!(
        (moved.stage_name.as_str(), moved.probability),
        ("Proposal", 50)
    );

    // Setting the probability is for managers and admins (US-7).
    let patch = DealPatch {
        version: moved.version,
        probability: Some(Some(NumberInput::Number(65))),
        ..Default::default()
    };
    assert!(matches!(
        deals::update(&pool, &rep, deal.id, &patch)
            .await
            .settle(&pool)
            .await,
        Err(Error::Forbidden)
    ));
    let set = deals::update(&pool, &admin, deal.id, &patch)
        .await
        .settle(&pool)
        .await
        .unwrap();
    assert_eq!(set.probability, 65);
    assert!(set.probability_explicit);

    // Out-of-range input is a field error.
    let bad = DealPatch {
        version: set.version,
        probability: Some(Some(NumberInput::Number(101))),
        ..Default::default()
    };
    let Err(Error::Validation { fields, .. }) = deals::update(&pool, &admin, deal.id, &bad)
        .await
        .settle(&pool)
        .await
    else {
        panic!("expected a field error");
    };
    assert!(fields.contains_key("probability"));
}

#[sqlx::test]
async fn concurrent_moves_of_one_deal_leave_exactly_one_winner(pool: PgPool) {
    let admin = workspace(&pool, "ada@example.com").await;
    let deal = deals::create(&pool, &admin, &deal_form("Analytical engine", "900"))
        .await
        .settle(&pool)
        .await
        .unwrap();
    let qualified = stage_named(&pool, &admin, "Qualified").await;
    let negotiation = stage_named(&pool, &admin, "Negotiation").await;

    let mv = |stage| {
        let pool = pool.clone();
        let admin = admin.clone();
        let version = deal.version;
        let id = deal.id;
        tokio::spawn(async move { move_to(&pool, &admin, id, version, stage).await })
    };
    let (a, b) = (mv(qualified), mv(negotiation));
    let results = [a.await.unwrap(), b.await.unwrap()];
    let winners: Vec<&Deal> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    assert!(
        results.iter().any(|r| matches!(r, Err(Error::Conflict(_)))),
        "the loser is told: {results:?}"
    );
    let now = deals::get(&pool, &admin, deal.id).await.unwrap();
    assert_eq!(now.stage_id, winners[0].stage_id);
    assert_eq!(now.version, deal.version + 1);
    assert_audit_chain(&pool, &admin).await;
}

#[sqlx::test]
async fn board_totals_equal_a_recomputation(pool: PgPool) {
    let admin = workspace(&pool, "ada@example.com").await;
    let proposal = stage_named(&pool, &admin, "Proposal").await;
    for (title, amount) in [("A", "100"), ("B", "250.25"), ("C", "0.99")] {
        let d = deals::create(&pool, &admin, &deal_form(title, amount))
            .await
            .settle(&pool)
            .await
            .unwrap();
        if title != "A" {
            move_to(&pool, &admin, d.id, d.version, proposal)
                .await
                .unwrap();
        }
    }
    let pipeline = board::default_pipeline(&pool, &admin).await.unwrap();
    let board = board::board(&pool, &admin, pipeline).await.unwrap();
    let names: Vec<&str> = board.stages.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Lead",
            "Qualified",
            "Proposal",
            "Negotiation",
            "Won",
            "Lost"
        ]
    );
    for column in &board.stages {
        let (count, total, weighted): (i64, i64, i64) = sqlx::query_as(
            "select count(*), coalesce(sum(d.amount_minor), 0)::bigint,
                    coalesce(floor(sum(d.amount_minor * coalesce(d.probability, s.probability)) / 100.0), 0)::bigint
             from deals d join pipeline_stages s on s.id = d.stage_id where d.stage_id = $1",
        )
        .bind(column.id.0)
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(column.count, count, "{}", column.name);
        assert_eq!(column.total_minor, i128::from(total), "{}", column.name);
        assert_eq!(
            column.weighted_minor,
            i128::from(weighted),
            "{}",
            column.name
        );
        assert_eq!(column.deals.len() as i64, count);
    }
    let p = board.stages.iter().find(|s| s.name == "Proposal").unwrap();
    assert_eq!(
        (p.count, p.total_minor, p.weighted_minor),
        (2, 25_124, 12_562)
    );
}

/// Every column's per-currency figures against a recomputation from the deals themselves.
async fn assert_board_matches_deals(pool: &PgPool, scope: &Scope) {
    let pipeline = board::default_pipeline(pool, scope)
        .await
        .expect("pipeline");
    let board = board::board(pool, scope, pipeline).await.expect("board");
    for column in &board.stages {
        let expected: Vec<(String, i64, i64, i64)> = sqlx::query_as(
            "select d.currency::text, count(*), sum(d.amount_minor)::bigint,
                    floor(sum(d.amount_minor * coalesce(d.probability, s.probability)) / 100.0)::bigint
             from deals d join pipeline_stages s on s.id = d.stage_id
             where d.stage_id = $1 and d.amount_minor is not null
             group by d.currency order by d.currency",
        )
        .bind(column.id.0)
        .fetch_all(pool)
        .await
        .expect("recomputation");
        let mut shown: Vec<(String, i64, i64, i64)> = column
            .totals
            .iter()
            .map(|t| {
                (
                    t.currency.as_str().to_owned(),
                    t.count,
                    i64::try_from(t.total_minor).expect("a test's totals fit 64 bits"),
                    i64::try_from(t.weighted_minor).expect("a test's totals fit 64 bits"),
                )
            })
            .collect();
        shown.sort();
        assert_eq!(shown, expected, "{}", column.name);
        let count: i64 = sqlx::query_scalar("select count(*) from deals where stage_id = $1")
            .bind(column.id.0)
            .fetch_one(pool)
            .await
            .expect("count");
        assert_eq!(column.count, count, "{}", column.name);
    }
}

/// The board's totals are maintained as deals change (not recomputed on each load): they must follow every kind of
/// change — creation with and without an amount, other currencies, explicit probabilities, amount edits, moves from
/// many connections at once, refused changes, deletion, and a stage deleted with its deals moved.
#[sqlx::test]
async fn kept_board_totals_follow_every_change(pool: PgPool) {
    let admin = workspace(&pool, "ada@example.com").await;
    let stage = |name: &'static str| stage_named(&pool, &admin, name);
    let (qualified, proposal, negotiation, lost) = (
        stage("Qualified").await,
        stage("Proposal").await,
        stage("Negotiation").await,
        stage("Lost").await,
    );
    let mut made = Vec::new();
    for i in 0..24 {
        let mut form = deal_form(&format!("Deal {i}"), &format!("{}.{:02}", 100 + i * 37, i));
        match i % 4 {
            1 => form.currency = Some("USD".into()),
            2 => form.amount = None,
            3 => form.probability = Some(NumberInput::Number(i64::from(i) * 4)),
            _ => {}
        }
        made.push(
            deals::create(&pool, &admin, &form)
                .await
                .settle(&pool)
                .await
                .unwrap(),
        );
    }
    assert_board_matches_deals(&pool, &admin).await;

    // Edits that change a deal's group: amount, explicit probability back to the stage's.
    let amount = DealPatch {
        amount: Some(Some(AmountInput::Text("1234.56".into()))),
        ..Default::default()
    };
    edit(&pool, &admin, &made[0], amount).await.unwrap();
    let d = &made[3];
    let stage_default = DealPatch {
        probability: Some(None),
        ..Default::default()
    };
    edit(&pool, &admin, d, stage_default).await.unwrap();
    // A refused change (stale version) leaves the totals as they were.
    let stale = move_to(&pool, &admin, d.id, d.version, proposal).await;
    assert!(matches!(stale, Err(Error::Conflict(_))), "{stale:?}");
    assert_board_matches_deals(&pool, &admin).await;

    // Moves of different deals at once, over several connections.
    let targets = [qualified, proposal, negotiation];
    let moves: Vec<_> = made[4..]
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let (pool, admin, id, version) = (pool.clone(), admin.clone(), d.id, d.version);
            let target = targets[i % targets.len()];
            tokio::spawn(async move { move_to(&pool, &admin, id, version, target).await })
        })
        .collect();
    for m in moves {
        m.await.unwrap().unwrap();
    }
    assert_board_matches_deals(&pool, &admin).await;

    // Lost, deleted, and a stage removed with its deals moved to another.
    let d = deals::get(&pool, &admin, made[5].id).await.unwrap();
    let lose = DealPatch {
        stage_id: Some(lost),
        lost_reason: Some("went with a competitor".into()),
        ..Default::default()
    };
    edit(&pool, &admin, &d, lose).await.unwrap();
    deals::delete(&pool, &admin, made[6].id)
        .await
        .settle(&pool)
        .await
        .unwrap();
    clearview::services::pipelines::delete_stage(&pool, &admin, proposal, Some(negotiation))
        .await
        .settle(&pool)
        .await
        .unwrap();
    assert_board_matches_deals(&pool, &admin).await;
    // Twenty moves at once over several connections, and every other change above: one unbroken chain.
    assert_audit_chain(&pool, &admin).await;
}

/// A column longer than its first page: the board shows the first cards and the column's full count, and "load
/// more" continues in board order from the cursor until every card has been seen exactly once.
#[sqlx::test]
async fn long_columns_load_the_rest_in_order_exactly_once(pool: PgPool) {
    let admin = workspace(&pool, "ada@example.com").await;
    let total = board::COLUMN_PAGE * 2 + 3;
    let mut made = Vec::new();
    for i in 0..total {
        made.push(
            deals::create(&pool, &admin, &deal_form(&format!("Deal {i:03}"), "10"))
                .await
                .settle(&pool)
                .await
                .unwrap()
                .id,
        );
    }
    let pipeline = board::default_pipeline(&pool, &admin).await.unwrap();
    let board = board::board(&pool, &admin, pipeline).await.unwrap();
    let lead = &board.stages[0];
    assert_eq!(lead.count, total);
    assert_eq!(lead.deals.len() as i64, board::COLUMN_PAGE);
    let mut seen: Vec<_> = lead.deals.iter().map(|d| d.id).collect();
    let mut cursor = lead.next_cursor.clone();
    while let Some(c) = cursor {
        let page = board::column(&pool, &admin, pipeline, lead.id, Some(&c))
            .await
            .unwrap();
        assert!(page.items.len() as i64 <= board::COLUMN_PAGE);
        seen.extend(page.items.iter().map(|d| d.id));
        cursor = page.next_cursor;
    }
    // New cards go to the end of their column: board order is creation order here.
    assert_eq!(seen, made);
}

/// The cards of each column of the default pipeline, in board order, by title.
async fn columns(pool: &PgPool, scope: &Scope) -> Vec<Vec<String>> {
    let pipeline = board::default_pipeline(pool, scope)
        .await
        .expect("default pipeline");
    let board = board::board(pool, scope, pipeline).await.expect("board");
    board
        .stages
        .iter()
        .map(|s| s.deals.iter().map(|d| d.title.clone()).collect())
        .collect()
}

#[sqlx::test]
async fn drops_beside_a_card_land_there_and_change_only_the_moved_card(pool: PgPool) {
    let admin = workspace(&pool, "ada@example.com").await;
    let mut by_title = std::collections::HashMap::new();
    for t in ["A", "B", "C", "D", "E"] {
        let d = deals::create(&pool, &admin, &deal_form(t, "10"))
            .await
            .settle(&pool)
            .await
            .unwrap();
        by_title.insert(t, d);
    }
    let qualified = stage_named(&pool, &admin, "Qualified").await;
    for t in ["D", "E"] {
        let d = &by_title[t];
        let moved = move_to(&pool, &admin, d.id, d.version, qualified)
            .await
            .unwrap();
        by_title.insert(t, moved);
    }
    assert_eq!(
        columns(&pool, &admin).await[..2],
        [vec!["A", "B", "C"], vec!["D", "E"]]
    );

    fn drop(
        m: &std::collections::HashMap<&str, Deal>,
        t: &str,
        stage: Option<StageId>,
        before: Option<&str>,
        after: Option<&str>,
    ) -> DealPatch {
        DealPatch {
            version: m[t].version,
            stage_id: stage,
            before_id: before.map(|b| m[b].id),
            after_id: after.map(|a| m[a].id),
            ..Default::default()
        }
    }
    let reordered = audit_count(&pool, "deal.reordered").await;
    let moved = audit_count(&pool, "deal.moved").await;

    // Within a column: before the first card, then after the last; into another column, between two cards and after
    // its last. Each step: (card, target stage, before, after, the first two columns afterwards).
    type Step<'a> = (
        &'a str,
        Option<StageId>,
        Option<&'a str>,
        Option<&'a str>,
        [&'a [&'a str]; 2],
    );
    let steps: [Step; 4] = [
        ("C", None, Some("A"), None, [&["C", "A", "B"], &["D", "E"]]),
        ("A", None, None, Some("B"), [&["C", "B", "A"], &["D", "E"]]),
        (
            "B",
            Some(qualified),
            Some("E"),
            None,
            [&["C", "A"], &["D", "B", "E"]],
        ),
        (
            "A",
            Some(qualified),
            None,
            Some("E"),
            [&["C"], &["D", "B", "E", "A"]],
        ),
    ];
    for (card, stage, before, after, expected) in steps {
        let patch = drop(&by_title, card, stage, before, after);
        let moved = deals::update(&pool, &admin, by_title[card].id, &patch)
            .await
            .settle(&pool)
            .await
            .unwrap();
        by_title.insert(card, moved);
        assert_eq!(columns(&pool, &admin).await[..2], expected, "{card}");
    }
    let now = columns(&pool, &admin).await;
    assert_eq!(now[..2], [vec!["C"], vec!["D", "B", "E", "A"]]);
    assert_eq!(audit_count(&pool, "deal.reordered").await, reordered + 2);
    assert_eq!(audit_count(&pool, "deal.moved").await, moved + 2);

    // An anchor that is not a card of the target stage, or two anchors: a field error, and nothing changes.
    let versions = |m: &std::collections::HashMap<&str, Deal>| {
        let mut v: Vec<_> = m.iter().map(|(t, d)| (t.to_string(), d.version)).collect();
        v.sort();
        v
    };
    let before_versions = versions(&by_title);
    for (patch, field) in [
        (drop(&by_title, "C", None, Some("D"), None), "before_id"),
        (
            drop(&by_title, "C", Some(qualified), None, Some("C")),
            "after_id",
        ),
        (
            drop(&by_title, "C", None, Some("C"), Some("C")),
            "before_id",
        ),
    ] {
        let err = deals::update(&pool, &admin, by_title["C"].id, &patch)
            .await
            .settle(&pool)
            .await;
        match err {
            Err(Error::Validation { fields, .. }) => {
                assert!(fields.contains_key(field), "{fields:?}")
            }
            other => panic!("expected a field error on {field}, got {other:?}"),
        }
    }
    let mut after = std::collections::HashMap::new();
    for (t, d) in &by_title {
        after.insert(*t, deals::get(&pool, &admin, d.id).await.unwrap());
    }
    assert_eq!(versions(&after), before_versions);
    assert_eq!(columns(&pool, &admin).await, now);
}

#[sqlx::test]
async fn a_deal_cannot_point_at_another_workspaces_contact(pool: PgPool) {
    let admin = workspace(&pool, "ada@example.com").await;
    let stranger = workspace(&pool, "eve@example.com").await;
    let theirs = contacts::create(&pool, &stranger, &person("Eve", "Spy", "Elsewhere"))
        .await
        .settle(&pool)
        .await
        .unwrap();
    let mut form = deal_form("Sneaky", "1");
    form.contact_id = Some(theirs.id);
    let err = deals::create(&pool, &admin, &form)
        .await
        .settle(&pool)
        .await;
    assert!(
        matches!(err, Err(Error::NotFound | Error::Validation { .. })),
        "{err:?}"
    );
    let count: i64 = sqlx::query_scalar("select count(*) from deals")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(count, 0);
}

#[sqlx::test]
async fn calls_are_validated_logged_and_listed_newest_first(pool: PgPool) {
    let admin = workspace(&pool, "ada@example.com").await;
    let contact = contacts::create(&pool, &admin, &person("Grace", "Hopper", "Navy"))
        .await
        .settle(&pool)
        .await
        .unwrap();
    let call = |subject: &str, at: &str, seconds: i64| ActivityInput {
        kind: "call".into(),
        contact_id: Some(contact.id),
        subject: subject.into(),
        occurred_at: Some(at.into()),
        metadata: json!({"duration_seconds": seconds, "direction": "outbound", "outcome": "connected"}),
        ..Default::default()
    };

    // Metadata is checked per kind.
    let mut bad = call("Intro", "2026-11-20T10:00:00Z", 60);
    bad.metadata = json!({"duration_seconds": -5, "direction": "sideways"});
    let Err(Error::Validation { fields, .. }) = activities::create(&pool, &admin, &bad)
        .await
        .settle(&pool)
        .await
    else {
        panic!("expected field errors");
    };
    assert!(
        fields.keys().any(|k| k.contains("duration_seconds")),
        "{fields:?}"
    );
    assert!(fields.keys().any(|k| k.contains("direction")), "{fields:?}");

    activities::create(&pool, &admin, &call("Intro", "2026-11-20T10:00:00Z", 120))
        .await
        .settle(&pool)
        .await
        .unwrap();
    activities::create(&pool, &admin, &call("Demo", "2026-11-21T10:00:00Z", 900))
        .await
        .settle(&pool)
        .await
        .unwrap();
    assert_eq!(audit_count(&pool, "activity.created").await, 2);

    let timeline = activities::list(
        &pool,
        &admin,
        &ActivityQuery {
            contact_id: Some(contact.id),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let subjects: Vec<&str> = timeline.items.iter().map(|a| a.subject.as_str()).collect();
    assert_eq!(subjects, ["Demo", "Intro"]);
    assert_eq!(timeline.items[0].kind, ActivityKind::Call);

    // A containment filter over the JSONB details (the GIN index serves `@>`).
    let outbound = activities::list(
        &pool,
        &admin,
        &ActivityQuery {
            metadata: Some(json!({"duration_seconds": 900})),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(outbound.items.len(), 1);
    assert_eq!(outbound.items[0].subject, "Demo");

    // Another workspace cannot read this timeline, nor log against this contact.
    let stranger = workspace(&pool, "eve@example.com").await;
    assert!(matches!(
        activities::list(
            &pool,
            &stranger,
            &ActivityQuery {
                contact_id: Some(contact.id),
                ..Default::default()
            }
        )
        .await,
        Err(Error::NotFound)
    ));
    let err = activities::create(&pool, &stranger, &call("Sneaky", "2026-11-22T10:00:00Z", 1))
        .await
        .settle(&pool)
        .await;
    assert!(
        matches!(err, Err(Error::NotFound | Error::Validation { .. })),
        "{err:?}"
    );
}

/// Fills a workspace directly (as the login role, which the policy does not restrict) with `n` contacts, each with one
/// call; every 1000th call went unanswered. The few rows a search or a detail filter should find are added by the test.
async fn bulk(pool: &PgPool, scope: &Scope, n: i32) {
    sqlx::query(
        "insert into contacts (id, org_id, first_name, last_name, company)
         select gen_random_uuid(), $1, 'Person', 'Number ' || i, 'Company ' || (i % 97)
         from generate_series(1, $2) i",
    )
    .bind(scope.org_id.0)
    .bind(n)
    .execute(pool)
    .await
    .expect("test data");
    sqlx::query(
        "insert into activities (id, org_id, kind, contact_id, subject, occurred_at, metadata)
         select gen_random_uuid(), c.org_id, 'call', c.id, 'Call', now() - make_interval(mins => (row_number() over ())::int),
                jsonb_build_object('duration_seconds', 60, 'direction', 'outbound',
                    'outcome', case when row_number() over () % 1000 = 0 then 'no_answer' else 'connected' end)
         from contacts c where c.org_id = $1",
    )
    .bind(scope.org_id.0)
    .execute(pool)
    .await
    .expect("test data");
}

/// The plan one of the search functions runs, as the workspace's transaction sees it. At a test's 20,000 rows a
/// sequential scan can still be cheapest, so it is ruled out: what this shows is which index *can* serve the match
/// (under the policy none could: the match was always a filter). scripts/bench prints the plans at 1M contacts.
async fn plan(pool: &PgPool, scope: &Scope, sql: &str, arg: &str) -> String {
    let mut tx = pool.begin().await.expect("transaction");
    sqlx::query(
        "select set_config('app.org_id', $1, true), set_config('enable_seqscan', 'off', true)",
    )
    .bind(scope.org_id.0.to_string())
    .execute(&mut *tx)
    .await
    .expect("plan query");
    let lines: Vec<String> = sqlx::query_scalar(sql)
        .bind(arg)
        .fetch_all(&mut *tx)
        .await
        .expect("plan query");
    tx.rollback().await.expect("plan query");
    lines.join("\n")
}

/// A page's row count is written into its statement (`services::limit_clause`). With the count bound, PostgreSQL
/// costed the generic plan as reading a tenth of the workspace, never chose it, and planned the contacts page afresh
/// on every request. One connection, so the prepared statement the page ran is the one inspected.
#[sqlx::test]
async fn the_contacts_page_reuses_its_plan(options: PgPoolOptions, connect: PgConnectOptions) {
    let pool = options
        .max_connections(1)
        .connect_with(connect)
        .await
        .expect("pool");
    let ada = workspace(&pool, "ada@example.com").await;
    bulk(&pool, &ada, 20_000).await;
    sqlx::query("analyze contacts")
        .execute(&pool)
        .await
        .unwrap();
    for _ in 0..8 {
        let page = contacts::list(&pool, &ada, &ContactQuery::default())
            .await
            .unwrap();
        assert_eq!(page.items.len(), 50);
    }
    let (generic, custom): (i64, i64) = sqlx::query_as(
        "select generic_plans, custom_plans from pg_prepared_statements
         where statement like '%from contacts c%order by c.sort_name%'",
    )
    .fetch_one(&pool)
    .await
    .expect("the page's prepared statement");
    assert!(
        generic >= 2,
        "the contacts page was planned on every execution ({custom} custom plans, {generic} generic)"
    );
}

/// Under row-level security PostgreSQL cannot use an index for a non-LEAKPROOF operator, so search (D-023: the word
/// index, its vocabulary, the trigram index) and detail filters (`@>`, GIN index) run in functions that bypass the policy but restrict themselves to the
/// transaction's workspace (D-011). This shows both indexes in the plans, and that the results stay in the workspace.
#[sqlx::test]
async fn search_and_detail_filters_use_their_indexes_and_stay_in_the_workspace(pool: PgPool) {
    let ada = workspace(&pool, "ada@example.com").await;
    let eve = workspace(&pool, "eve@example.com").await;
    bulk(&pool, &ada, 20_000).await;
    bulk(&pool, &eve, 1_000).await;
    // The same rare name in both workspaces.
    for scope in [&ada, &eve] {
        contacts::create(&pool, scope, &person("Dulcinea", "Quixote", "La Mancha"))
            .await
            .settle(&pool)
            .await
            .unwrap();
    }
    sqlx::query("analyze contacts")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("analyze activities")
        .execute(&pool)
        .await
        .unwrap();

    // Best match: the word's range of the word index, in page order; inside a word: its vocabulary word's rows.
    let search = plan(
        &pool,
        &ada,
        "select contact_search_plan($1, 'relevance', false, null, null, null, 51)",
        "quixote",
    )
    .await;
    assert!(
        search.contains("rank 1: the range of 'quixote' read"),
        "{search}"
    );
    assert!(search.contains("contact_words_idx"), "{search}");
    let inside = plan(
        &pool,
        &ada,
        "select contact_search_plan($1, 'relevance', false, null, null, null, 51)",
        "uixot",
    )
    .await;
    assert!(inside.contains("rank 2: inside 'quixote'"), "{inside}");
    // A column order over two words every contact has: no few candidates, so the name order is walked.
    let sorted = plan(
        &pool,
        &ada,
        "select contact_search_plan($1, 'name', false, null, null, null, 51)",
        "person numb",
    )
    .await;
    assert!(sorted.contains("name order walked"), "{sorted}");
    let filter = plan(
        &pool,
        &ada,
        "select activity_search_plan($1::jsonb, null, null, null, null, null, 51)",
        r#"{"outcome": "no_answer"}"#,
    )
    .await;
    assert!(filter.contains("activities_metadata_idx"), "{filter}");

    // Results: only this workspace's rows, in order, page by page.
    let found = contacts::list(
        &pool,
        &ada,
        &ContactQuery {
            q: "Quixote".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(found.items.len(), 1);
    let mine = contacts::get(&pool, &ada, found.items[0].id).await.unwrap();
    assert_eq!(mine.last_name, "Quixote");
    assert!(contacts::get(&pool, &eve, found.items[0].id).await.is_err());

    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = activities::list(
            &pool,
            &ada,
            &ActivityQuery {
                metadata: Some(json!({"outcome": "no_answer"})),
                cursor: cursor.clone(),
                limit: Some(6),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        seen.extend(page.items);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(
        seen.len(),
        20,
        "every 1000th of 20,000 calls, none of the other workspace's"
    );
    assert!(
        seen.windows(2)
            .all(|w| w[0].occurred_at >= w[1].occurred_at)
    );
    for a in &seen {
        assert_eq!(a.metadata["outcome"], "no_answer");
        let contact = a.contact_id.expect("each call is against a contact");
        assert!(contacts::get(&pool, &ada, contact).await.is_ok());
    }

    // The request role may search, but not read plans (they carry table-wide estimates).
    let mut tx = clearview::db::tenant(&pool, ada.org_id, Some(ada.user_id))
        .await
        .unwrap();
    let denied = sqlx::query("select contact_search_plan('a', 'name', false, null, null, null, 5)")
        .execute(&mut *tx)
        .await;
    assert!(denied.is_err(), "{denied:?}");
}

#[sqlx::test]
async fn audit_entries_are_written_pending_and_sealed_after_their_transaction_commits(
    pool: PgPool,
) {
    use clearview::services::audit;
    let admin = workspace(&pool, "ada@example.com").await;
    // Settling the sign-up (as the command line does) sealed its four entries.
    assert_eq!(audit::seal(&pool, admin.org_id).await.unwrap(), 0);
    assert_eq!(audit_count(&pool, "organization.created").await, 1);

    let pending = |action: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query_as::<_, (i64, Vec<u8>)>("select seq, hash from audit_log where action = $1")
                .bind(action)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    let mut work = admin.write(&pool).await.unwrap();
    work.audit("test.pending", "deal", None, json!({}))
        .await
        .unwrap();
    assert_eq!(
        audit_count(&pool, "test.pending").await,
        0,
        "only its own transaction sees it"
    );
    // A sealer running meanwhile cannot see it, so it cannot link it yet.
    assert_eq!(audit::seal(&pool, admin.org_id).await.unwrap(), 0);
    let committed = work.commit().await.unwrap();
    assert_eq!(committed.workspaces(), [admin.org_id]);
    // Sealed by hand below, as a sealer would.
    committed.into_parts();
    let (seq, hash) = pending("test.pending").await;
    assert!(seq < 0 && hash.is_empty(), "committed, still pending");
    assert_eq!(audit::seal(&pool, admin.org_id).await.unwrap(), 1);
    let (seq, hash) = pending("test.pending").await;
    assert_eq!((seq, hash.len()), (5, 32), "sealed after the signup's four");
    assert_audit_chain(&pool, &admin).await;

    // A transaction that rolls back leaves nothing behind, and the chain goes on without a gap.
    let mut work = admin.write(&pool).await.unwrap();
    work.audit("test.rolled_back", "deal", None, json!({}))
        .await
        .unwrap();
    drop(work);
    assert_eq!(audit_count(&pool, "test.rolled_back").await, 0);

    // A unit of work that wrote no audit entry is refused its commit.
    let work = admin.write(&pool).await.unwrap();
    assert!(matches!(work.commit().await, Err(Error::Internal(_))));

    // The sealer a server runs: what a unit of work committed is sealed once handed on, with no call here.
    let (sealer, sealing) = audit::Sealer::start(pool.clone());
    let (created, committed) = deals::create(&pool, &admin, &deal_form("After", "1"))
        .await
        .unwrap()
        .into_parts();
    assert_eq!(committed.workspaces(), [admin.org_id]);
    // ... and the new deal is what the boards are to be told of.
    assert_eq!(
        committed
            .changes()
            .iter()
            .map(|c| (c.deal_id, c.op))
            .collect::<Vec<_>>(),
        [(created.id.0, live::ChangeOp::Insert)]
    );
    let (workspaces, _) = committed.into_parts();
    sealer.seal(workspaces);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while pending("deal.created").await.0 < 0 {
        assert!(std::time::Instant::now() < deadline, "not sealed in 10 s");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_audit_chain(&pool, &admin).await;
    // Once every handle is gone the task finishes what it was given, and ends.
    let (_, committed) = deals::create(&pool, &admin, &deal_form("Last", "1"))
        .await
        .unwrap()
        .into_parts();
    sealer.seal(committed.into_parts().0);
    drop(sealer);
    sealing.await.unwrap();
    let pending_left: i64 = sqlx::query_scalar("select count(*) from audit_log where seq < 0")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(pending_left, 0);

    // Only the transaction's own workspace: without one there is nothing to seal, and the request role never updates.
    let mut tx = pool.begin().await.unwrap();
    clearview::db::enter(&mut tx, None, Some(admin.user_id))
        .await
        .unwrap();
    let refused = sqlx::query("select audit_seal()").execute(&mut *tx).await;
    assert!(refused.is_err(), "{refused:?}");
}

/// Writers in one workspace and several sealers at once (as with several server processes, and readers sealing
/// first): every entry is sealed exactly once, in one gapless chain.
#[sqlx::test]
async fn concurrent_sealers_and_writers_keep_one_chain(pool: PgPool) {
    use clearview::services::audit;
    let admin = workspace(&pool, "ada@example.com").await;
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..4 {
        let (pool, admin) = (pool.clone(), admin.clone());
        tasks.spawn(async move {
            for i in 0..15 {
                let mut work = admin.write(&pool).await.unwrap();
                for k in ["first", "second"] {
                    work.audit(&format!("test.w{w}.{i}.{k}"), "deal", None, json!({}))
                        .await
                        .unwrap();
                }
                work.commit().await.unwrap().into_parts();
            }
        });
    }
    let sealers: Vec<_> = (0..3)
        .map(|_| {
            let (pool, org) = (pool.clone(), admin.org_id);
            tokio::spawn(async move {
                let mut sealed = 0;
                for _ in 0..40 {
                    sealed += audit::seal(&pool, org).await.unwrap();
                    tokio::task::yield_now().await;
                }
                sealed
            })
        })
        .collect();
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    let mut sealed = 0;
    for s in sealers {
        sealed += s.await.unwrap();
    }
    sealed += audit::seal(&pool, admin.org_id).await.unwrap();
    // The sign-up's four entries were sealed when it settled.
    assert_eq!(sealed, 4 * 15 * 2, "each entry sealed once");
    assert_audit_chain(&pool, &admin).await;
    // Within a transaction, its entries keep their order in the chain.
    let (pairs, out_of_order): (i64, i64) = sqlx::query_as(
        "select count(*), count(*) filter (where b.seq < a.seq)
         from audit_log a
         join audit_log b on b.org_id = a.org_id and b.action = replace(a.action, '.first', '.second')
         where a.org_id = $1 and a.action like 'test.%.first'",
    )
    .bind(admin.org_id.0)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((pairs, out_of_order), (60, 0));
}
