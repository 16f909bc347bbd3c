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

    let best = [
        "Ada Abbott",
        "Ada Lovelace",
        "Adalbert Stifter",
        "Adam Smith",
        "Grace Canada",
        "Granada Travel",
    ];
    assert_eq!(search(&pool, &ada, "ada", None, 50).await, best);
    // Page by page, across the line between word starts and words it is inside: the same rows, once each.
    for limit in [1, 2, 3, 4] {
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
    assert_eq!(search(&pool, &ada, " .@- ", None, 50).await.len(), 7);
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
