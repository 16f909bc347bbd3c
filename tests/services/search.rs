//! Contact search as people type it (D-023): which contacts match, in which order, page by page, with case and accents
//! folded; and the word index behind it follows every write and keeps nothing of a deleted contact.

use clearview::db::Settle;
use clearview::model::{Contact, ContactInput, ContactQuery, ContactSort, SortDir};
use clearview::services::{Scope, contact_csv, contacts};
use sqlx::PgPool;

use crate::common::workspace;

async fn add(
    pool: &PgPool,
    scope: &Scope,
    first: &str,
    last: &str,
    email: Option<&str>,
    company: Option<&str>,
) -> Contact {
    contacts::create(
        pool,
        scope,
        &ContactInput {
            first_name: first.into(),
            last_name: last.into(),
            email: email.map(Into::into),
            company: company.map(Into::into),
            ..Default::default()
        },
    )
    .await
    .settle(pool)
    .await
    .expect("contact")
}

/// Every page of a search (`limit` rows a page), followed to the end: the names in order.
async fn search(
    pool: &PgPool,
    scope: &Scope,
    q: &str,
    sort: Option<ContactSort>,
    limit: u32,
) -> Vec<String> {
    let mut names = Vec::new();
    let mut cursor = None;
    loop {
        let page = contacts::list(
            pool,
            scope,
            &ContactQuery {
                q: q.into(),
                sort,
                dir: SortDir::Asc,
                cursor: cursor.clone(),
                limit: Some(limit),
            },
        )
        .await
        .expect("search");
        assert!(page.items.len() <= limit as usize);
        names.extend(page.items.iter().map(Contact::full_name));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return names,
        }
    }
}

/// The workspace's words as the index holds them (read as the login role, which the policy does not restrict).
async fn indexed_words(pool: &PgPool, scope: &Scope) -> (Vec<String>, Vec<String>) {
    let words = sqlx::query_scalar(
        "select word || ':' || count(*) from contact_words where org_id = $1 group by word order by word",
    )
    .bind(scope.org_id.0)
    .fetch_all(pool)
    .await
    .expect("contact_words");
    let vocabulary =
        sqlx::query_scalar("select word from contact_vocabulary where org_id = $1 order by word")
            .bind(scope.org_id.0)
            .fetch_all(pool)
            .await
            .expect("contact_vocabulary");
    (words, vocabulary)
}

/// Every row of the word index names the contact's previous word in byte order (`prev`, D-025), in every workspace:
/// what a search reads to list a contact once, under the first of its words in a prefix's range.
async fn assert_prev_chain(pool: &PgPool) {
    let wrong: Vec<String> = sqlx::query_scalar(
        "select w.word || ' after ' || coalesce(w.prev, '-') from contact_words w
         where w.prev is distinct from (select max(o.word) from contact_words o
                                        where o.org_id = w.org_id and o.contact_id = w.contact_id and o.word < w.word)",
    )
    .fetch_all(pool)
    .await
    .expect("contact_words");
    assert!(wrong.is_empty(), "{wrong:?}");
}

#[sqlx::test]
async fn whole_words_come_first_then_word_starts_then_words_it_is_inside(pool: PgPool) {
    let ada = workspace(&pool, "owner@example.com").await;
    // Created oldest first; within a group the newest comes first.
    add(&pool, &ada, "Grace", "Canada", None, Some("Navy")).await;
    add(&pool, &ada, "Adam", "Smith", None, None).await;
    add(
        &pool,
        &ada,
        "Ada",
        "Lovelace",
        Some("ada@engines.example"),
        Some("Analytical Engines"),
    )
    .await;
    add(&pool, &ada, "Adalbert", "Stifter", None, None).await;
    add(&pool, &ada, "Ada", "Abbott", None, Some("Abbott Labs")).await;
    add(&pool, &ada, "Granada", "Travel", None, None).await;
    add(&pool, &ada, "Alan", "Turing", None, Some("Bletchley Park")).await;
    // Two words with "ada" inside: listed once, under the first of them ("canada" before "nevada").
    add(&pool, &ada, "Nevada", "Canada", None, None).await;

    let best = [
        "Ada Abbott",
        "Ada Lovelace",
        "Adalbert Stifter",
        "Adam Smith",
        "Nevada Canada",
        "Grace Canada",
        "Granada Travel",
    ];
    assert_eq!(search(&pool, &ada, "ada", None, 50).await, best);
    // Page by page, across the line between word starts and words it is inside: the same rows, once each.
    for limit in [1, 2, 3, 4, 5] {
        assert_eq!(
            search(&pool, &ada, "ada", None, limit).await,
            best,
            "pages of {limit}"
        );
    }
    // A column order lists the same matches.
    let mut by_name = best.map(str::to_string).to_vec();
    by_name.sort();
    assert_eq!(
        search(&pool, &ada, "ada", Some(ContactSort::Name), 2).await,
        by_name
    );

    // One or two characters match word starts only: "da" is inside "Ada" but starts no word.
    assert_eq!(search(&pool, &ada, "AD", None, 50).await, best[..4]);
    assert!(search(&pool, &ada, "da", None, 50).await.is_empty());
    // Punctuation alone searches for nothing: the whole table, by name.
    assert_eq!(search(&pool, &ada, " .@- ", None, 50).await.len(), 8);
}

#[sqlx::test]
async fn case_accents_several_words_and_email_fragments_match_as_typed(pool: PgPool) {
    let ada = workspace(&pool, "owner@example.com").await;
    add(
        &pool,
        &ada,
        "Chloé",
        "Öztürk",
        Some("chloe.ozturk@kestrel.example"),
        Some("Kestrel Robotics"),
    )
    .await;
    add(
        &pool,
        &ada,
        "Ada",
        "Lovelace",
        Some("ada.lovelace@engines.example"),
        None,
    )
    .await;
    add(
        &pool,
        &ada,
        "Ada",
        "Abbott",
        Some("a.abbott@abbott.example"),
        None,
    )
    .await;
    add(&pool, &ada, "Robin", "Kestrel", None, None).await;

    for q in [
        "chloe",
        "CHLOÉ",
        "Chloé",
        "öztürk",
        "OZTURK",
        "ztür",
        "Zt\u{fc}rk",
    ] {
        assert_eq!(
            search(&pool, &ada, q, None, 10).await,
            ["Chloé Öztürk"],
            "{q}"
        );
    }
    // Every word must match, in any order.
    assert_eq!(
        search(&pool, &ada, "ada abb", None, 10).await,
        ["Ada Abbott"]
    );
    assert_eq!(
        search(&pool, &ada, "abb ADA", None, 10).await,
        ["Ada Abbott"]
    );
    assert_eq!(
        search(&pool, &ada, "kestrel rob", None, 10).await,
        ["Robin Kestrel", "Chloé Öztürk"]
    );
    assert!(search(&pool, &ada, "ada chloe", None, 10).await.is_empty());
    // E-mail fragments: the address's parts are words.
    assert_eq!(
        search(&pool, &ada, "ada.lovelace@", None, 10).await,
        ["Ada Lovelace"]
    );
    assert_eq!(
        search(&pool, &ada, "@engines.ex", None, 10).await,
        ["Ada Lovelace"]
    );
    assert_eq!(
        search(&pool, &ada, "a.abbott@abbott.example", None, 10).await,
        ["Ada Abbott"]
    );
    assert_eq!(
        search(&pool, &ada, "example", Some(ContactSort::Name), 10).await,
        ["Ada Abbott", "Ada Lovelace", "Chloé Öztürk"]
    );
}

#[sqlx::test]
async fn the_word_index_follows_every_write_and_keeps_nothing_of_a_deleted_contact(pool: PgPool) {
    let ada = workspace(&pool, "owner@example.com").await;
    let eve = workspace(&pool, "eve@example.com").await;
    let quixote = add(
        &pool,
        &ada,
        "Dulcinea",
        "Quixote",
        Some("dq@la-mancha.example"),
        None,
    )
    .await;
    add(&pool, &eve, "Dulcinea", "Toboso", None, None).await;
    let (words, vocabulary) = indexed_words(&pool, &ada).await;
    assert_eq!(
        words,
        [
            "dq:1",
            "dulcinea:1",
            "example:1",
            "la:1",
            "mancha:1",
            "quixote:1"
        ]
    );
    assert_eq!(
        vocabulary,
        ["dq", "dulcinea", "example", "la", "mancha", "quixote"]
    );
    assert_prev_chain(&pool).await;

    // A renamed contact is found by its new name only.
    let input = ContactInput {
        first_name: "Dulcinea".into(),
        last_name: "Panza".into(),
        email: Some("dq@la-mancha.example".into()),
        version: Some(quixote.version),
        ..Default::default()
    };
    contacts::update(&pool, &ada, quixote.id, &input)
        .await
        .settle(&pool)
        .await
        .unwrap();
    assert!(search(&pool, &ada, "quixote", None, 10).await.is_empty());
    assert_eq!(
        search(&pool, &ada, "panza", None, 10).await,
        ["Dulcinea Panza"]
    );
    assert_prev_chain(&pool).await;
    let (words, vocabulary) = indexed_words(&pool, &ada).await;
    assert!(!words.iter().any(|w| w.starts_with("quixote")), "{words:?}");
    assert!(
        !vocabulary.contains(&"quixote".to_string()),
        "{vocabulary:?}"
    );
    // The other workspace's Dulcinea is never found from here.
    assert_eq!(
        search(&pool, &ada, "dulcinea", None, 10).await,
        ["Dulcinea Panza"]
    );

    // Deleted: no word of hers is left in the index, in contact_words or in the vocabulary.
    contacts::delete(&pool, &ada, quixote.id)
        .await
        .settle(&pool)
        .await
        .unwrap();
    assert_eq!(indexed_words(&pool, &ada).await, (vec![], vec![]));
    assert_prev_chain(&pool).await;
    assert_eq!(indexed_words(&pool, &eve).await.1, ["dulcinea", "toboso"]);
}

#[sqlx::test]
async fn the_request_role_reaches_the_word_index_only_through_search(pool: PgPool) {
    let ada = workspace(&pool, "owner@example.com").await;
    add(&pool, &ada, "Ada", "Lovelace", None, None).await;
    for table in ["contact_words", "contact_vocabulary"] {
        let mut tx = clearview::db::tenant(&pool, ada.org_id, Some(ada.user_id))
            .await
            .unwrap();
        let read = sqlx::query(&format!("select * from {table}"))
            .execute(&mut *tx)
            .await;
        assert!(read.is_err(), "{table}: {read:?}");
    }
    // Nor may it ask for plans, or call the search's inner function with another workspace's view of things.
    let mut tx = clearview::db::tenant(&pool, ada.org_id, Some(ada.user_id))
        .await
        .unwrap();
    let plan =
        sqlx::query("select contact_search_plan('ada', 'relevance', false, null, null, null, 5)")
            .execute(&mut *tx)
            .await;
    assert!(plan.is_err(), "{plan:?}");
}

#[sqlx::test]
async fn an_export_of_a_search_holds_what_the_table_shows(pool: PgPool) {
    let ada = workspace(&pool, "owner@example.com").await;
    add(&pool, &ada, "Ada", "Lovelace", None, None).await;
    add(&pool, &ada, "Grace", "Canada", None, None).await;
    add(&pool, &ada, "Alan", "Turing", None, None).await;
    let mut export = contact_csv::export(&pool, &ada, "ADA")
        .await
        .settle(&pool)
        .await
        .unwrap();
    let mut file = Vec::new();
    while let Some(chunk) = export.next_chunk().await.unwrap() {
        file.extend(chunk);
    }
    let text = String::from_utf8(file).unwrap();
    assert_eq!(export.rows, 2, "{text}");
    assert!(
        text.contains("Lovelace") && text.contains("Canada") && !text.contains("Turing"),
        "{text}"
    );
}

#[sqlx::test]
async fn a_cursor_of_another_search_is_a_field_error(pool: PgPool) {
    let ada = workspace(&pool, "owner@example.com").await;
    for last in ["Abbott", "Lovelace", "Byron"] {
        add(&pool, &ada, "Ada", last, None, None).await;
    }
    let first = contacts::list(
        &pool,
        &ada,
        &ContactQuery {
            q: "ada".into(),
            limit: Some(1),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let replayed = contacts::list(
        &pool,
        &ada,
        &ContactQuery {
            q: "lovelace".into(),
            cursor: first.next_cursor,
            ..Default::default()
        },
    )
    .await;
    assert!(
        matches!(replayed, Err(clearview::Error::Validation { .. })),
        "{replayed:?}"
    );
}

/// Why `contact_search` chose what it ran for a term (its plan lines), as the workspace's transaction sees it.
async fn plan(pool: &PgPool, scope: &Scope, q: &str, limit: i32) -> String {
    let mut tx = pool.begin().await.expect("transaction");
    sqlx::query("select set_config('app.org_id', $1, true)")
        .bind(scope.org_id.0.to_string())
        .execute(&mut *tx)
        .await
        .expect("workspace");
    let lines: Vec<String> = sqlx::query_scalar(
        "select contact_search_plan($1, 'relevance', false, null, null, null, $2)",
    )
    .bind(q)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await
    .expect("plan");
    lines.join("\n")
}

/// Several words take the way their rarity together calls for (D-025): a stretch of the driving word's range when the
/// other words are common among its contacts, the index of word beginnings when they are rare together, the whole
/// range walked in between. Each way lists every match once, in the same order, page by page.
#[sqlx::test]
async fn several_words_find_every_match_whichever_way_is_taken(pool: PgPool) {
    let ada = workspace(&pool, "owner@example.com").await;
    // Oldest first: two Abbotts, then 90 Adas of whom every third is a Brown. Within the word "ada", newest first.
    let mut created = Vec::new();
    for i in 0..2 {
        created.push(
            add(
                &pool,
                &ada,
                "Ada",
                "Abbott",
                Some(&format!("ada{i}@abbott.example")),
                None,
            )
            .await,
        );
    }
    for i in 0..90 {
        let last = if i % 3 == 0 {
            format!("Brown{i}")
        } else {
            format!("Zed{i}")
        };
        created.push(add(&pool, &ada, "Ada", &last, None, None).await);
    }
    let newest_first = |keep: &dyn Fn(&Contact) -> bool| -> Vec<String> {
        created
            .iter()
            .rev()
            .filter(|c| keep(c))
            .map(Contact::full_name)
            .collect()
    };

    // Common together: every Ada has a word starting with "a", so the first stretch of "ada" fills the page.
    let all = newest_first(&|_| true);
    assert!(
        plan(&pool, &ada, "ada a", 51)
            .await
            .contains("rank 1: a stretch of 51 rows"),
        "{}",
        plan(&pool, &ada, "ada a", 51).await
    );
    let zeds = newest_first(&|c| c.last_name.starts_with("Zed"));
    // Rare together: 2 of the 92 Adas; the stretch finds none, the prefix index finds both.
    let abbotts = newest_first(&|c| c.last_name == "Abbott");
    assert!(
        plan(&pool, &ada, "ada abb", 51)
            .await
            .contains("prefix index's 2 contacts"),
        "{}",
        plan(&pool, &ada, "ada abb", 51).await
    );
    // In between: a third are Browns, so the whole range is walked.
    let browns = newest_first(&|c| c.last_name.starts_with("Brown"));
    assert!(
        plan(&pool, &ada, "ada br", 51)
            .await
            .contains("rank 1: the range of 'ada' walked"),
        "{}",
        plan(&pool, &ada, "ada br", 51).await
    );
    for (q, expected) in [
        ("ada a", &all),
        ("ada z", &zeds),
        ("ada abb", &abbotts),
        ("ada br", &browns),
        ("ada", &all),
    ] {
        for limit in [50, 7, 1] {
            assert_eq!(
                &search(&pool, &ada, q, None, limit).await,
                expected,
                "{q}, pages of {limit}"
            );
        }
    }
}
