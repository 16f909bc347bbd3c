//! Members, invitations and the workspace through the service layer: who may do what, the last admin, links that are
//! signed, single-use and replaced on resend, and deleting a workspace without touching another.
#![expect(
    clippy::unwrap_used,
    reason = "helpers of the tests: a failed step must fail the test that called it"
)]

use clearview::Error;
use clearview::auth::token::{self, SecretKey};
use clearview::db::Settle;
use clearview::domain::{Role, UserId};
use clearview::model::{AcceptInput, InviteInput, InviteState};
use clearview::services::invites::{self, Accepting, Links};
use clearview::services::{Scope, members, organizations};
use sqlx::PgPool;

use crate::common::{member, workspace};

fn links() -> Links {
    Links {
        key: SecretKey::from_bytes(b"a key of the tests, 32 bytes long!".to_vec()).unwrap(),
        base_url: "http://crm.example.test".into(),
    }
}

fn invite_input(email: &str, role: &str) -> InviteInput {
    InviteInput {
        email: email.into(),
        role: role.into(),
    }
}

/// Invites `email` with `role` into `scope`'s workspace (as its admin) and returns the invitation.
async fn invited(
    pool: &PgPool,
    scope: &Scope,
    email: &str,
    role: &str,
) -> clearview::model::Invite {
    invites::create(pool, scope, &links(), &invite_input(email, role))
        .await
        .settle(pool)
        .await
        .unwrap()
}

/// Accepts `token` as nobody signed in, with `input`'s name and password.
async fn accept_anonymously(
    pool: &PgPool,
    token: &str,
    input: &AcceptInput,
) -> clearview::Result<clearview::db::Done<invites::Accepted>> {
    let who = Accepting::Anonymous {
        input,
        client_ip: None,
    };
    invites::accept(pool, &links(), token, who, None).await
}

/// The link of the newest mail queued for `to`.
async fn link_for(pool: &PgPool, to: &str) -> String {
    let text: String = sqlx::query_scalar(
        "select payload->>'text' from jobs where lower(payload->>'to') = lower($1) order by created_at desc, id desc limit 1",
    )
    .bind(to)
    .fetch_one(pool)
    .await
    .unwrap();
    let url = text
        .lines()
        .find(|l| l.starts_with("http://crm.example.test/invite?token="))
        .expect("the mail carries the link");
    url.split_once("token=").unwrap().1.to_owned()
}

fn newcomer(token: &str) -> AcceptInput {
    AcceptInput {
        token: token.into(),
        name: "Grace Hopper".into(),
        password: "correct horse battery".into(),
    }
}

async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

#[sqlx::test(migrator = "clearview::db::MIGRATOR")]
async fn an_invitation_queues_its_mail_and_its_link_joins_once(pool: PgPool) {
    let admin = workspace(&pool, "ada@example.com").await;
    let links = links();
    let invite = invited(&pool, &admin, "Grace@Example.com", "manager").await;
    assert_eq!(
        (invite.state, invite.role),
        (InviteState::Pending, Role::Manager)
    );
    assert_eq!(
        count(&pool, "select count(*) from jobs where kind = 'mail'").await,
        1
    );
    let subject: String = sqlx::query_scalar("select payload->>'subject' from jobs")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        subject,
        "ada invited you to Workspace of ada@example.com on Clearview"
    );
    let token = link_for(&pool, "grace@example.com").await;
    // The row keeps the link's hash, never the link.
    let stored: Vec<u8> = sqlx::query_scalar("select token_hash from invites")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(stored, token::token_hash(&token));

    let preview = invites::preview(&pool, &links, &token).await.unwrap();
    assert_eq!(
        (preview.email.as_str(), preview.role, preview.has_account),
        ("Grace@example.com", Role::Manager, false)
    );
    // A bad new account changes nothing.
    let mut bad = newcomer(&token);
    bad.password = "short".into();
    let err = accept_anonymously(&pool, &token, &bad)
        .await
        .map(|_| ())
        .unwrap_err();
    assert!(
        err.fields().is_some_and(|f| f.contains_key("password")),
        "{err:?}"
    );
    assert_eq!(count(&pool, "select count(*) from users").await, 1);

    let input = newcomer(&token);
    let accepted = accept_anonymously(&pool, &token, &input)
        .await
        .settle(&pool)
        .await
        .unwrap();
    assert_eq!(accepted.membership.role, Role::Manager);
    assert_eq!(
        accepted.user.email, "Grace@example.com",
        "the address as the admin typed it"
    );
    let people = members::list(&pool, &admin).await.unwrap();
    assert_eq!(
        people
            .iter()
            .map(|m| (m.email.as_str(), m.role))
            .collect::<Vec<_>>(),
        [
            ("ada@example.com", Role::Admin),
            ("Grace@example.com", Role::Manager)
        ]
    );
    // Used up: the link says so and nothing changes.
    let again = accept_anonymously(&pool, &token, &input)
        .await
        .map(|_| ())
        .unwrap_err();
    assert!(
        matches!(&again, Error::Conflict(m) if m.contains("already been used")),
        "{again:?}"
    );
    assert!(matches!(
        invites::preview(&pool, &links, &token).await,
        Err(Error::Conflict(_))
    ));
    assert_eq!(count(&pool, "select count(*) from memberships").await, 2);
    // Inviting a member is a conflict, and queues nothing.
    let err = invites::create(
        &pool,
        &admin,
        &links,
        &invite_input("grace@example.com", "rep"),
    )
    .await
    .map(|_| ())
    .unwrap_err();
    assert!(
        matches!(&err, Error::Conflict(m) if m.contains("already a member")),
        "{err:?}"
    );
    assert_eq!(count(&pool, "select count(*) from jobs").await, 1);
    assert_eq!(
        sqlx::query_scalar::<_, String>(
            "select action from audit_log where action like 'invite.%' or action = 'member.added' order by at, seq"
        )
        .fetch_all(&pool)
        .await
        .unwrap(),
        ["member.added", "invite.created", "invite.accepted", "member.added"]
    );
}

#[sqlx::test(migrator = "clearview::db::MIGRATOR")]
async fn resent_revoked_expired_and_tampered_links_say_why_and_change_nothing(pool: PgPool) {
    let admin = workspace(&pool, "ada@example.com").await;
    let links = links();
    let invite = invited(&pool, &admin, "grace@example.com", "rep").await;
    let first = link_for(&pool, "grace@example.com").await;
    invites::resend(&pool, &admin, &links, invite.id)
        .await
        .settle(&pool)
        .await
        .unwrap();
    let second = link_for(&pool, "grace@example.com").await;
    assert_ne!(first, second);
    assert!(
        matches!(invites::preview(&pool, &links, &first).await, Err(Error::Conflict(m)) if m.contains("replaced")),
        "resending leaves one valid link"
    );
    invites::preview(&pool, &links, &second).await.unwrap();
    // Inviting the address again renews the same invitation (one row, the new role).
    let renewed = invited(&pool, &admin, "grace@example.com", "manager").await;
    assert_eq!((renewed.id, renewed.role), (invite.id, Role::Manager));
    assert_eq!(count(&pool, "select count(*) from invites").await, 1);
    let third = link_for(&pool, "grace@example.com").await;
    assert!(matches!(
        invites::preview(&pool, &links, &second).await,
        Err(Error::Conflict(_))
    ));

    // Tampered, or signed with another key: not an invitation at all.
    let mut tampered = third.clone();
    tampered.insert(tampered.len() - 5, 'A');
    assert_eq!(
        invites::preview(&pool, &links, &tampered)
            .await
            .unwrap_err(),
        Error::NotFound
    );
    let stranger = Links {
        key: SecretKey::generate(),
        base_url: links.base_url.clone(),
    };
    assert_eq!(
        invites::preview(&pool, &stranger, &third)
            .await
            .unwrap_err(),
        Error::NotFound
    );

    // Expired: well signed for this invitation, but past its time.
    let past = time::OffsetDateTime::now_utc() - time::Duration::minutes(1);
    let expired = token::sign_invite(&links.key, invite.id, admin.org_id, past).unwrap();
    assert!(
        matches!(invites::preview(&pool, &links, &expired).await, Err(Error::Conflict(m)) if m.contains("expired"))
    );

    // Revoked: the link says it was withdrawn, and accepting it writes nothing.
    let rep = member(&pool, &admin, "rep@example.com", Role::Rep).await;
    assert_eq!(
        invites::revoke(&pool, &rep, invite.id)
            .await
            .map(|_| ())
            .unwrap_err(),
        Error::Forbidden
    );
    invites::revoke(&pool, &admin, invite.id)
        .await
        .settle(&pool)
        .await
        .unwrap();
    assert!(invites::list(&pool, &admin).await.unwrap().is_empty());
    let input = newcomer(&third);
    let err = accept_anonymously(&pool, &third, &input)
        .await
        .map(|_| ())
        .unwrap_err();
    assert!(
        matches!(&err, Error::Conflict(m) if m.contains("withdrawn")),
        "{err:?}"
    );
    assert_eq!(
        count(
            &pool,
            "select count(*) from users where email = 'grace@example.com'"
        )
        .await,
        0
    );
    // After a revocation the address can be invited afresh.
    invited(&pool, &admin, "grace@example.com", "rep").await;
    assert_eq!(count(&pool, "select count(*) from invites").await, 2);
}

#[sqlx::test(migrator = "clearview::db::MIGRATOR")]
async fn an_existing_account_joins_with_its_password_or_its_session(pool: PgPool) {
    let admin = workspace(&pool, "ada@example.com").await;
    let grace = workspace(&pool, "grace@example.com").await;
    let links = links();
    invited(&pool, &admin, "grace@example.com", "rep").await;
    let token = link_for(&pool, "grace@example.com").await;
    assert!(
        invites::preview(&pool, &links, &token)
            .await
            .unwrap()
            .has_account
    );
    // Someone else's session cannot take Grace's invitation.
    let err = invites::accept(
        &pool,
        &links,
        &token,
        Accepting::SignedIn(admin.user_id),
        None,
    )
    .await
    .map(|_| ())
    .unwrap_err();
    assert!(
        matches!(&err, Error::Conflict(m) if m.contains("sign out")),
        "{err:?}"
    );
    // A wrong password is a field error.
    let wrong = AcceptInput {
        token: token.clone(),
        name: String::new(),
        password: "not her password".into(),
    };
    let err = accept_anonymously(&pool, &token, &wrong)
        .await
        .map(|_| ())
        .unwrap_err();
    assert!(
        err.fields().is_some_and(|f| f.contains_key("password")),
        "{err:?}"
    );
    let accepted = invites::accept(
        &pool,
        &links,
        &token,
        Accepting::SignedIn(grace.user_id),
        None,
    )
    .await
    .settle(&pool)
    .await
    .unwrap();
    assert_eq!(accepted.user.id, grace.user_id);
    assert_eq!(
        organizations::memberships(&pool, grace.user_id)
            .await
            .unwrap()
            .len(),
        2
    );
}

#[sqlx::test(migrator = "clearview::db::MIGRATOR")]
async fn a_workspace_never_loses_its_last_admin(pool: PgPool) {
    let admin = workspace(&pool, "ada@example.com").await;
    let rep = member(&pool, &admin, "rep@example.com", Role::Rep).await;
    for refused in [
        members::set_role(&pool, &admin, admin.user_id, Role::Manager)
            .await
            .map(|_| ()),
        members::remove(&pool, &admin, admin.user_id)
            .await
            .map(|_| ()),
    ] {
        assert!(
            matches!(&refused, Err(Error::Conflict(m)) if m.contains("only admin")),
            "{refused:?}"
        );
    }
    // A rep may not change roles or remove others, but may leave.
    assert_eq!(
        members::set_role(&pool, &rep, rep.user_id, Role::Admin)
            .await
            .map(|_| ())
            .unwrap_err(),
        Error::Forbidden
    );
    assert_eq!(
        members::remove(&pool, &rep, admin.user_id)
            .await
            .map(|_| ())
            .unwrap_err(),
        Error::Forbidden
    );
    // Two admins demoting each other at once: one wins, the workspace keeps an admin.
    let second = members::set_role(&pool, &admin, rep.user_id, Role::Admin)
        .await
        .settle(&pool)
        .await
        .unwrap();
    assert_eq!(second.role, Role::Admin);
    let bob = Scope {
        role: Role::Admin,
        ..rep.clone()
    };
    let (a, b) = tokio::join!(
        members::set_role(&pool, &admin, bob.user_id, Role::Rep),
        members::set_role(&pool, &bob, admin.user_id, Role::Rep),
    );
    let wins = [a.is_ok(), b.is_ok()].iter().filter(|w| **w).count();
    for r in [a, b] {
        let _ = r.settle(&pool).await;
    }
    assert_eq!(wins, 1, "exactly one demotion succeeds");
    assert_eq!(
        count(
            &pool,
            &format!(
                "select count(*) from memberships where org_id = '{}' and role = 'admin'",
                admin.org_id.0
            )
        )
        .await,
        1
    );
    // A member who leaves keeps no access; their deals stay with no owner.
    let leaver = member(&pool, &admin, "leaver@example.com", Role::Rep).await;
    let ada_is_admin: bool = sqlx::query_scalar(
        "select role = 'admin' from memberships where org_id = $1 and user_id = $2",
    )
    .bind(admin.org_id.0)
    .bind(admin.user_id.0)
    .fetch_one(&pool)
    .await
    .unwrap();
    let admin_now = if ada_is_admin {
        admin.clone()
    } else {
        bob.clone()
    };
    let deal = clearview::services::deals::create(
        &pool,
        &leaver,
        &clearview::model::DealForm {
            title: "Leaver's deal".into(),
            ..Default::default()
        },
    )
    .await
    .settle(&pool)
    .await
    .unwrap();
    members::remove(&pool, &leaver, leaver.user_id)
        .await
        .settle(&pool)
        .await
        .unwrap();
    assert!(matches!(
        clearview::services::contacts::list(&pool, &leaver, &Default::default()).await,
        Err(Error::ScopeChanged)
    ));
    let kept = clearview::services::deals::get(&pool, &admin_now, deal.id)
        .await
        .unwrap();
    assert_eq!(kept.owner_id, None::<UserId>);
}

#[sqlx::test(migrator = "clearview::db::MIGRATOR")]
async fn deleting_a_workspace_removes_its_data_and_nothing_of_another(pool: PgPool) {
    let doomed = workspace(&pool, "ada@example.com").await;
    let kept = workspace(&pool, "bob@example.com").await;
    for scope in [&doomed, &kept] {
        clearview::services::deals::create(
            &pool,
            scope,
            &clearview::model::DealForm {
                title: "A deal".into(),
                ..Default::default()
            },
        )
        .await
        .settle(&pool)
        .await
        .unwrap();
        invited(&pool, scope, "someone@example.com", "rep").await;
    }
    let tables = [
        "pipelines",
        "pipeline_stages",
        "contacts",
        "deals",
        "activities",
        "invites",
        "jobs",
        "memberships",
        "audit_log",
    ];
    let rows_of = |org: uuid::Uuid| {
        let pool = pool.clone();
        async move {
            let mut out = Vec::new();
            for t in tables {
                out.push(
                    count(
                        &pool,
                        &format!("select count(*) from {t} where org_id = '{org}'"),
                    )
                    .await,
                );
            }
            out
        }
    };
    let kept_before = rows_of(kept.org_id.0).await;
    assert!(
        rows_of(doomed.org_id.0)
            .await
            .iter()
            .filter(|n| **n > 0)
            .count()
            >= 6
    );
    let refused = organizations::delete(&pool, &doomed, "not its name")
        .await
        .map(|_| ())
        .unwrap_err();
    assert!(refused.fields().is_some_and(|f| f.contains_key("confirm")));
    let name: String = sqlx::query_scalar("select name from organizations where id = $1")
        .bind(doomed.org_id.0)
        .fetch_one(&pool)
        .await
        .unwrap();
    organizations::delete(&pool, &doomed, &name)
        .await
        .settle(&pool)
        .await
        .unwrap();
    assert!(rows_of(doomed.org_id.0).await.iter().all(|n| *n == 0));
    assert_eq!(rows_of(kept.org_id.0).await, kept_before);
    assert_eq!(count(&pool, "select count(*) from organizations").await, 1);
    // The person stays, with no workspace.
    assert!(
        organizations::memberships(&pool, doomed.user_id)
            .await
            .unwrap()
            .is_empty()
    );
}
