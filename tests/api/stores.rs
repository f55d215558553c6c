//! One conformance suite per store trait, run against every backend: the login
//! store in this process and on Redis, the durable store on SQLite and on
//! PostgreSQL. Times come from the caller, as the injected clock gives them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use authproxy::crypto::{self, Sealer};
use authproxy::domain::{
    CallerId, CallerPolicy, Client, ClientAuth, ClientId, Confirmation, EmailDomain, LoginOutcome,
    Origin, Realm, RealmName, Resolution, Rule, RuleKey, Target, TxnChallenge, TxnId, TxnVerifier,
    Username,
};
use authproxy::store::kept_marks::KeptMarks;
use authproxy::store::memory::MemoryLogins;
use authproxy::store::postgres::PostgresStore;
use authproxy::store::redis::RedisStore;
use authproxy::store::sqlite::SqliteStore;
use authproxy::store::{
    AuditEntry, AuditFilter, AuditLog as _, AuditOutcome, CompletedLogin, ConfirmOutcome,
    DurableStore, LoginStore, RateStore, Redemption, SessionKeys, StoredAdminToken, StoredCaller,
};
use chrono::{DateTime, TimeDelta, Utc};
use secrecy::{ExposeSecret as _, SecretString};

use crate::support::services::{fresh_database, fresh_prefix, services};

fn sealer() -> Sealer {
    Sealer::from_base64(&Sealer::generate_key().unwrap()).unwrap()
}

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(2_000_000_000, 0).unwrap()
}

/// Two handles on one login store, as two replicas have (the same one twice
/// for the in-process store).
async fn login_stores() -> Vec<(&'static str, Arc<dyn LoginStore>, Arc<dyn LoginStore>)> {
    let memory: Arc<dyn LoginStore> = Arc::new(MemoryLogins::default());
    let (prefix, sealer) = (fresh_prefix(), sealer());
    let url = SecretString::from(services().redis_url.clone());
    let redis = |sealer: Sealer| {
        let (url, prefix) = (url.clone(), prefix.clone());
        async move { Arc::new(RedisStore::open(&url, &prefix, sealer).await.unwrap()) }
    };
    let a = redis(sealer.clone()).await;
    let b = redis(sealer).await;
    // The single node's store: memory, with its lasting marks kept in SQLite
    // (the file outlives the test; the directory is the system's temp).
    let dir = tempfile::tempdir().unwrap().keep();
    let sqlite: Arc<dyn DurableStore> =
        Arc::new(SqliteStore::open(&dir.join("authproxy.db"), self::sealer()).unwrap());
    let kept: Arc<dyn LoginStore> = Arc::new(KeptMarks::open(sqlite, t0()).await.unwrap());
    vec![
        ("memory", Arc::clone(&memory), memory),
        ("memory with kept marks", Arc::clone(&kept), kept),
        ("redis", a as Arc<dyn LoginStore>, b as Arc<dyn LoginStore>),
    ]
}

#[tokio::test]
async fn the_single_nodes_used_marks_and_ended_sessions_outlive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("authproxy.db");
    let key = sealer();
    let keys = SessionKeys {
        session: "session:s1".into(),
        user: "user:u1".into(),
    };
    {
        let durable: Arc<dyn DurableStore> =
            Arc::new(SqliteStore::open(&path, key.clone()).unwrap());
        let logins = KeptMarks::open(durable, t0()).await.unwrap();
        assert!(
            logins
                .use_state("jti-1", t0() + TimeDelta::minutes(5))
                .await
                .unwrap()
        );
        logins
            .end_sessions(&keys.session, &keys.user, t0(), t0() + TimeDelta::hours(4))
            .await
            .unwrap();
    }
    // A restart: a new process on the same file.
    let durable: Arc<dyn DurableStore> = Arc::new(SqliteStore::open(&path, key.clone()).unwrap());
    let logins = KeptMarks::open(Arc::clone(&durable), t0() + TimeDelta::minutes(1))
        .await
        .unwrap();
    assert!(
        !logins
            .use_state("jti-1", t0() + TimeDelta::minutes(5))
            .await
            .unwrap(),
        "a used jti stays used"
    );
    assert!(
        logins
            .session_ended(&keys, t0() - TimeDelta::minutes(1))
            .await
            .unwrap(),
        "an ended session stays ended"
    );
    // Marks are kept under a hash, never in clear, and purged once they lapse.
    let stored = durable.documents("login_mark", None).await.unwrap();
    assert_eq!(stored.len(), 2);
    assert!(
        stored
            .iter()
            .all(|d| !d.id.contains("jti-1") && !d.id.contains("s1"))
    );
    logins
        .purge_expired(t0() + TimeDelta::hours(5))
        .await
        .unwrap();
    assert!(
        durable
            .documents("login_mark", None)
            .await
            .unwrap()
            .is_empty()
    );
}

/// A login as the callback completes it, with the values that release it.
struct Finished {
    txn: TxnId,
    client: ClientId,
    verifier: TxnVerifier,
    challenge: TxnChallenge,
    confirmation: Confirmation,
    outcome: LoginOutcome,
}

impl Finished {
    fn new() -> Self {
        let verifier = TxnVerifier::parse(&crypto::random_token().unwrap()).unwrap();
        Self {
            txn: TxnId::parse(&crypto::random_token().unwrap()).unwrap(),
            client: ClientId::parse("localhost:8081").unwrap(),
            challenge: TxnChallenge::parse(&verifier.challenge()).unwrap(),
            verifier,
            confirmation: Confirmation::generate().unwrap(),
            outcome: LoginOutcome::Failure {
                error: "access_denied".into(),
                description: Some("The user said no".into()),
            },
        }
    }

    async fn complete(&self, store: &dyn LoginStore, expires_at: DateTime<Utc>) -> bool {
        let login = CompletedLogin {
            client_id: &self.client,
            txn_challenge: &self.challenge,
            outcome: &self.outcome,
            confirmation: &self.confirmation,
            expires_at,
        };
        store.complete_txn(&self.txn, &login).await.unwrap()
    }

    async fn confirm(&self, store: &dyn LoginStore, now: DateTime<Utc>) -> ConfirmOutcome {
        store
            .confirm(&self.txn, &self.client, &self.confirmation, now)
            .await
            .unwrap()
    }

    async fn redeem(&self, store: &dyn LoginStore, now: DateTime<Utc>) -> Redemption {
        store
            .redeem(&self.txn, &self.client, &self.verifier, now)
            .await
            .unwrap()
    }
}

fn name(redemption: &Redemption) -> &'static str {
    match redemption {
        Redemption::Redeemed(_) => "redeemed",
        Redemption::Unconfirmed => "unconfirmed",
        Redemption::WrongVerifier { burned: false } => "wrong",
        Redemption::WrongVerifier { burned: true } => "burned",
        Redemption::Closed => "closed",
        Redemption::Unknown => "unknown",
    }
}

#[tokio::test]
async fn login_store_a_state_is_used_once_even_by_racing_replicas() {
    for (backend, a, b) in login_stores().await {
        let state = crypto::random_token().unwrap();
        let until = t0() + TimeDelta::minutes(10);
        let racers: Vec<_> = (0..16)
            .map(|i| {
                let store = Arc::clone(if i % 2 == 0 { &a } else { &b });
                let state = state.clone();
                tokio::spawn(async move { store.use_state(&state, until).await.unwrap() })
            })
            .collect();
        let mut won = 0;
        for racer in racers {
            won += usize::from(racer.await.unwrap());
        }
        assert_eq!(won, 1, "{backend}: exactly one use of a state");
        assert!(
            a.use_state(&crypto::random_token().unwrap(), until)
                .await
                .unwrap(),
            "{backend}: another state is fresh"
        );
    }
}

#[tokio::test]
async fn login_store_tells_a_used_state_without_using_it() {
    for (backend, a, b) in login_stores().await {
        let state = crypto::random_token().unwrap();
        let until = t0() + TimeDelta::minutes(10);
        assert!(!a.was_used(&state).await.unwrap(), "{backend}: fresh");
        assert!(!b.was_used(&state).await.unwrap(), "{backend}: still fresh");
        assert!(
            a.use_state(&state, until).await.unwrap(),
            "{backend}: asking used nothing up"
        );
        assert!(
            b.was_used(&state).await.unwrap(),
            "{backend}: the other replica sees the use"
        );
        assert!(!b.use_state(&state, until).await.unwrap(), "{backend}");
    }
}

#[tokio::test]
async fn login_store_releases_an_outcome_only_confirmed_to_its_client_and_once() {
    for (backend, a, b) in login_stores().await {
        let login = Finished::new();
        let now = t0();
        assert_eq!(
            name(&login.redeem(a.as_ref(), now).await),
            "unknown",
            "{backend}"
        );
        assert!(
            login
                .complete(a.as_ref(), now + TimeDelta::seconds(120))
                .await
        );
        assert!(
            !login
                .complete(b.as_ref(), now + TimeDelta::seconds(120))
                .await,
            "{backend}: a txn completes once"
        );
        assert_eq!(
            name(&login.redeem(b.as_ref(), now).await),
            "unconfirmed",
            "{backend}"
        );
        let other = ClientId::parse("other.example").unwrap();
        let by_other = b
            .confirm(&login.txn, &other, &login.confirmation, now)
            .await
            .unwrap();
        assert_eq!(
            by_other,
            ConfirmOutcome::Unknown,
            "{backend}: another client"
        );
        let wrong = b
            .confirm(
                &login.txn,
                &login.client,
                &Confirmation::generate().unwrap(),
                now,
            )
            .await
            .unwrap();
        assert_eq!(wrong, ConfirmOutcome::Wrong { burned: false }, "{backend}");
        assert_eq!(
            login.confirm(b.as_ref(), now).await,
            ConfirmOutcome::Confirmed
        );
        let by_other = b
            .redeem(&login.txn, &other, &login.verifier, now)
            .await
            .unwrap();
        assert_eq!(
            name(&by_other),
            "unknown",
            "{backend}: another client redeems nothing"
        );
        match login.redeem(a.as_ref(), now).await {
            Redemption::Redeemed(LoginOutcome::Failure { error, description }) => {
                assert_eq!(error, "access_denied", "{backend}");
                assert_eq!(
                    description.as_deref(),
                    Some("The user said no"),
                    "{backend}"
                );
            }
            other => panic!("{backend}: {}", name(&other)),
        }
        assert_eq!(
            name(&login.redeem(b.as_ref(), now).await),
            "closed",
            "{backend}"
        );
        assert_eq!(
            login.confirm(a.as_ref(), now).await,
            ConfirmOutcome::Unknown
        );
    }
}

#[tokio::test]
async fn login_store_wrong_tries_share_one_allowance_and_burn_the_outcome() {
    for (backend, a, b) in login_stores().await {
        let login = Finished::new();
        let now = t0();
        login
            .complete(a.as_ref(), now + TimeDelta::seconds(120))
            .await;
        let wrong_verifier = TxnVerifier::parse(&crypto::random_token().unwrap()).unwrap();
        let first = b
            .redeem(&login.txn, &login.client, &wrong_verifier, now)
            .await
            .unwrap();
        assert_eq!(name(&first), "wrong", "{backend}");
        let wrong_confirmation = a
            .confirm(
                &login.txn,
                &login.client,
                &Confirmation::generate().unwrap(),
                now,
            )
            .await
            .unwrap();
        assert_eq!(wrong_confirmation, ConfirmOutcome::Wrong { burned: false });
        let third = a
            .redeem(&login.txn, &login.client, &wrong_verifier, now)
            .await
            .unwrap();
        assert_eq!(
            name(&third),
            "burned",
            "{backend}: the third wrong try burns it"
        );
        assert_eq!(
            login.confirm(b.as_ref(), now).await,
            ConfirmOutcome::Unknown
        );
        assert_eq!(
            name(&login.redeem(b.as_ref(), now).await),
            "closed",
            "{backend}"
        );
    }
}

#[tokio::test]
async fn login_store_an_outcome_expires_by_the_callers_clock() {
    for (backend, a, _) in login_stores().await {
        let login = Finished::new();
        let expires = t0() + TimeDelta::seconds(120);
        login.complete(a.as_ref(), expires).await;
        assert_eq!(
            login.confirm(a.as_ref(), expires).await,
            ConfirmOutcome::Unknown,
            "{backend}"
        );
        let before = expires - TimeDelta::seconds(1);
        assert_eq!(
            login.confirm(a.as_ref(), before).await,
            ConfirmOutcome::Confirmed
        );
        assert_eq!(
            name(&login.redeem(a.as_ref(), expires).await),
            "unknown",
            "{backend}"
        );
        a.purge_expired(expires + TimeDelta::seconds(1))
            .await
            .unwrap();
        assert_eq!(
            name(&login.redeem(a.as_ref(), expires).await),
            "unknown",
            "{backend}"
        );
    }
}

#[tokio::test]
async fn login_store_racing_redemptions_release_the_outcome_exactly_once() {
    for (backend, a, b) in login_stores().await {
        let login = Arc::new(Finished::new());
        let now = t0();
        login
            .complete(a.as_ref(), now + TimeDelta::seconds(120))
            .await;
        login.confirm(b.as_ref(), now).await;
        let racers: Vec<_> = (0..20)
            .map(|i| {
                let store = Arc::clone(if i % 2 == 0 { &a } else { &b });
                let login = Arc::clone(&login);
                tokio::spawn(async move { name(&login.redeem(store.as_ref(), now).await) })
            })
            .collect();
        let mut answers = Vec::new();
        for racer in racers {
            answers.push(racer.await.unwrap());
        }
        assert_eq!(
            answers.iter().filter(|a| **a == "redeemed").count(),
            1,
            "{backend}: {answers:?}"
        );
        assert!(
            answers.iter().all(|a| *a == "redeemed" || *a == "closed"),
            "{backend}: {answers:?}"
        );
    }
}

#[tokio::test]
async fn login_store_a_waiter_on_one_replica_wakes_when_another_completes() {
    for (backend, a, b) in login_stores().await {
        let login = Arc::new(Finished::new());
        let waiter = {
            let (a, login) = (Arc::clone(&a), Arc::clone(&login));
            tokio::spawn(async move {
                let started = Instant::now();
                // Woken by the completion, then again by the confirmation.
                a.wait_for_completion(&login.txn, Duration::from_secs(20))
                    .await
                    .unwrap();
                a.wait_for_completion(&login.txn, Duration::from_secs(20))
                    .await
                    .unwrap();
                started.elapsed()
            })
        };
        tokio::time::sleep(Duration::from_millis(200)).await;
        login
            .complete(b.as_ref(), t0() + TimeDelta::seconds(120))
            .await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        login.confirm(b.as_ref(), t0()).await;
        let woke_after = waiter.await.unwrap();
        // The re-check interval is 5 s: an answer well before it is the doorbell's.
        assert!(
            woke_after < Duration::from_secs(3),
            "{backend}: woke after {woke_after:?}"
        );
        assert_eq!(
            name(&login.redeem(a.as_ref(), t0()).await),
            "redeemed",
            "{backend}"
        );
    }
}

#[tokio::test]
async fn rate_store_buckets_are_shared_and_refill_by_the_callers_clock() {
    let memory = Arc::new(authproxy::store::memory::MemoryRates::default());
    let (prefix, url) = (
        fresh_prefix(),
        SecretString::from(services().redis_url.clone()),
    );
    let a = RedisStore::open(&url, &prefix, sealer()).await.unwrap();
    let b = RedisStore::open(&url, &prefix, sealer()).await.unwrap();
    let backends: Vec<(&str, &dyn RateStore, &dyn RateStore)> = vec![
        ("memory", memory.as_ref(), memory.as_ref()),
        ("redis", &a, &b),
    ];
    for (backend, a, b) in backends {
        for i in 0..3 {
            let store = if i % 2 == 0 { a } else { b };
            assert_eq!(
                store.take("ip:1", 60, 3, t0()).await.unwrap(),
                None,
                "{backend}"
            );
        }
        let wait = b.take("ip:1", 60, 3, t0()).await.unwrap().expect("empty");
        assert!(
            wait <= Duration::from_secs(1) && wait >= Duration::from_millis(900),
            "{backend}: {wait:?}"
        );
        assert_eq!(
            a.take("ip:1", 60, 3, t0() + TimeDelta::seconds(1))
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            a.take("ip:2", 60, 3, t0()).await.unwrap(),
            None,
            "{backend}: per key"
        );
    }
}

/// Each durable backend, empty.
async fn durable_stores() -> Vec<(&'static str, Arc<dyn DurableStore>, tempfile::TempDir)> {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(&dir.path().join("authproxy.db"), sealer()).unwrap();
    let url = SecretString::from(fresh_database().await);
    let postgres = PostgresStore::open(&url, sealer()).await.unwrap();
    let keep = tempfile::tempdir().unwrap();
    vec![
        ("sqlite", Arc::new(sqlite) as Arc<dyn DurableStore>, dir),
        ("postgres", Arc::new(postgres), keep),
    ]
}

fn realm(name: &str, secret: Option<&str>) -> Realm {
    Realm {
        name: RealmName::parse(name).unwrap(),
        authority: authproxy::domain::realm::Authority::parse(&format!(
            "https://kc.example/realms/{name}"
        ))
        .unwrap(),
        extra_scopes: vec!["phone".into()],
        broker_client: secret.map(|s| authproxy::domain::BrokerClient {
            client_id: "authproxy-broker".into(),
            secret: SecretString::from(s.to_owned()),
        }),
        client_auth: ClientAuth::ClientSecretPost,
    }
}

#[tokio::test]
async fn durable_store_realms_and_clients_round_trip_with_sealed_secrets_and_versions() {
    for (backend, store, _dir) in durable_stores().await {
        let v0 = store.registry_version().await.unwrap();
        store.put_realm(&realm("tenant-b", None)).await.unwrap();
        store
            .put_realm(&realm("tenant-a", Some("s3cret")))
            .await
            .unwrap();
        store
            .put_realm(&realm("tenant-a", Some("rotated")))
            .await
            .unwrap();
        let client = Client {
            id: ClientId::parse("crm.example").unwrap(),
            realms: vec![RealmName::parse("tenant-a").unwrap()],
            origins: vec![Origin::parse("https://crm.example").unwrap()],
            secret: Some(SecretString::from("client-secret".to_owned())),
            approval: authproxy::domain::Approval::Off,
        };
        store.put_client(&client).await.unwrap();
        let realms = store.realms().await.unwrap();
        let names: Vec<_> = realms.iter().map(|r| r.name.to_string()).collect();
        assert_eq!(
            names,
            ["tenant-a", "tenant-b"],
            "{backend}: ordered by name"
        );
        let broker = realms[0].broker_client.as_ref().unwrap();
        assert_eq!(broker.secret.expose_secret(), "rotated", "{backend}");
        assert_eq!(realms[0].client_auth, ClientAuth::ClientSecretPost);
        assert!(realms[1].broker_client.is_none());
        let clients = store.clients().await.unwrap();
        assert_eq!(clients.len(), 1);
        assert_eq!(clients[0].origins[0].as_str(), "https://crm.example");
        assert_eq!(
            clients[0].approval,
            authproxy::domain::Approval::Off,
            "{backend}"
        );
        assert_eq!(
            clients[0].secret.as_ref().unwrap().expose_secret(),
            "client-secret"
        );
        assert!(store.delete_client(&client.id).await.unwrap());
        assert!(!store.delete_client(&client.id).await.unwrap(), "{backend}");
        assert!(
            store
                .delete_realm(&RealmName::parse("tenant-b").unwrap())
                .await
                .unwrap()
        );
        assert_eq!(
            store.registry_version().await.unwrap(),
            v0 + 7,
            "{backend}: every write counts (a delete that found nothing too)"
        );
    }
}

fn rule(key: RuleKey, realm: Option<&str>) -> Rule {
    Rule {
        key,
        target: realm.map_or(Target::NotMigrated, |r| Target::Sso {
            realm: RealmName::parse(r).unwrap(),
            idp_hint: None,
        }),
    }
}

#[tokio::test]
async fn durable_store_directory_resolves_user_then_domain_then_default() {
    for (backend, store, _dir) in durable_stores().await {
        let v0 = store.directory_version().await.unwrap();
        let user = |u: &str| Username::parse(u).unwrap();
        let rules = vec![
            rule(RuleKey::Default, Some("fallback")),
            rule(
                RuleKey::Domain(EmailDomain::parse("corp.test").unwrap()),
                Some("corp"),
            ),
            rule(RuleKey::User(user("legacy@corp.test")), None),
            rule(RuleKey::User(user("vip@corp.test")), Some("vip")),
        ];
        assert_eq!(
            store
                .import_rules(Box::new(rules.into_iter()), false)
                .await
                .unwrap(),
            4
        );
        let realm_of = |r: Resolution| match r {
            Resolution::Found(Target::Sso { realm, .. }) => realm.to_string(),
            Resolution::Found(Target::NotMigrated) => "not_migrated".into(),
            Resolution::Unknown => "unknown".into(),
        };
        for (who, expected) in [
            ("vip@corp.test", "vip"),
            ("legacy@corp.test", "not_migrated"),
            ("anyone@corp.test", "corp"),
            ("someone@else.test", "fallback"),
        ] {
            assert_eq!(
                realm_of(store.resolve(&user(who)).await.unwrap()),
                expected,
                "{backend}: {who}"
            );
        }
        let csv = store.export_csv().await.unwrap();
        assert!(
            csv.starts_with("kind,key,realm,idp_hint\n"),
            "{backend}: {csv}"
        );
        assert!(
            csv.contains("not_migrated,legacy@corp.test,,"),
            "{backend}: {csv}"
        );
        // One rule, exactly: no fallback to the domain or the default.
        assert!(
            matches!(
                store
                    .rule(&RuleKey::User(user("legacy@corp.test")))
                    .await
                    .unwrap(),
                Some(Target::NotMigrated)
            ),
            "{backend}"
        );
        assert!(
            matches!(
                store.rule(&RuleKey::Default).await.unwrap(),
                Some(Target::Sso { realm, .. }) if realm.as_str() == "fallback"
            ),
            "{backend}"
        );
        assert!(
            store
                .rule(&RuleKey::User(user("anyone@corp.test")))
                .await
                .unwrap()
                .is_none(),
            "{backend}: a user with no rule of their own"
        );
        assert!(store.delete_rule(&RuleKey::Default).await.unwrap());
        assert_eq!(
            realm_of(store.resolve(&user("someone@else.test")).await.unwrap()),
            "unknown"
        );
        let replacement = vec![rule(RuleKey::User(user("new@x.test")), Some("x"))];
        store
            .import_rules(Box::new(replacement.into_iter()), true)
            .await
            .unwrap();
        assert_eq!(
            realm_of(store.resolve(&user("vip@corp.test")).await.unwrap()),
            "unknown",
            "{backend}: replaced"
        );
        assert_eq!(
            store.directory_version().await.unwrap(),
            v0 + 3,
            "{backend}"
        );
    }
}

#[tokio::test]
async fn durable_store_callers_and_admin_tokens() {
    for (backend, store, _dir) in durable_stores().await {
        let policy = CallerPolicy {
            realms: vec![RealmName::parse("tenant-a").unwrap()],
            all_users_of: vec![],
            domains: vec!["tenant-a.test".into()],
            users: vec![],
            audiences: vec![],
            max_lifetime_secs: 300,
            rate_per_minute: 60,
            burst: 10,
        };
        let caller = StoredCaller {
            id: CallerId::parse("billing").unwrap(),
            secret_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
            policy: policy.clone(),
            created_at: t0(),
        };
        store.put_caller(&caller).await.unwrap();
        let read = store.caller(&caller.id).await.unwrap().unwrap();
        assert_eq!(read.policy, policy, "{backend}");
        assert_eq!(read.created_at, t0());
        assert_eq!(store.callers().await.unwrap().len(), 1);
        assert!(store.delete_caller(&caller.id).await.unwrap());
        assert!(
            store.caller(&caller.id).await.unwrap().is_none(),
            "{backend}"
        );
        let hash = crypto::sha256("token");
        let token = StoredAdminToken {
            hash,
            label: "ops".into(),
            created_at: t0(),
            expires_at: None,
        };
        store.put_admin_token(&token).await.unwrap();
        assert_eq!(
            store.admin_token(hash).await.unwrap().as_ref(),
            Some(&token),
            "{backend}"
        );
        let again = StoredAdminToken {
            label: "again".into(),
            ..token.clone()
        };
        assert!(
            store.put_admin_token(&again).await.is_err(),
            "{backend}: unique"
        );
        assert_eq!(
            store.admin_token(crypto::sha256("other")).await.unwrap(),
            None
        );
        let later = StoredAdminToken {
            hash: crypto::sha256("later"),
            label: "ci".into(),
            created_at: t0() + TimeDelta::seconds(5),
            expires_at: Some(t0() + TimeDelta::days(30)),
        };
        store.put_admin_token(&later).await.unwrap();
        let labels: Vec<_> = store
            .admin_tokens()
            .await
            .unwrap()
            .into_iter()
            .map(|t| (t.label, t.expires_at))
            .collect();
        assert_eq!(
            labels,
            [
                ("ops".to_owned(), None),
                ("ci".to_owned(), Some(t0() + TimeDelta::days(30)))
            ],
            "{backend}: oldest first, with their ends"
        );
        let end = t0() + TimeDelta::seconds(60);
        assert!(store.expire_admin_token(hash, end).await.unwrap());
        let expired = store.admin_token(hash).await.unwrap().unwrap();
        assert_eq!(expired.expires_at, Some(end), "{backend}");
        assert!(expired.is_live(end - TimeDelta::seconds(1)));
        assert!(!expired.is_live(end), "{backend}: not live from its end on");
        assert!(
            !store
                .expire_admin_token(crypto::sha256("none"), end)
                .await
                .unwrap()
        );
        assert!(store.delete_admin_token(hash).await.unwrap());
        assert!(!store.delete_admin_token(hash).await.unwrap(), "{backend}");
        assert_eq!(store.admin_token(hash).await.unwrap(), None);
        assert_eq!(store.admin_tokens().await.unwrap().len(), 1, "{backend}");
    }
}

#[tokio::test]
async fn durable_store_audit_trail_keeps_the_order_rows_were_appended() {
    for (backend, store, _dir) in durable_stores().await {
        for i in 0..30 {
            let entry = AuditEntry {
                // Deliberately not in time order: the trail's order is the append order.
                at: t0() + TimeDelta::seconds(i64::from((i * 7) % 5)),
                actor: if i % 3 == 0 {
                    "caller:a".into()
                } else {
                    "admin:ops".into()
                },
                action: format!("action-{i}"),
                outcome: AuditOutcome::Granted,
                ..AuditEntry::default()
            };
            store.append(&entry).await.unwrap();
        }
        let read = |filter: AuditFilter| {
            let store = Arc::clone(&store);
            async move {
                store
                    .audit(&AuditFilter {
                        limit: filter.limit.max(1),
                        ..filter
                    })
                    .await
                    .unwrap()
            }
        };
        let all = read(AuditFilter {
            limit: 1000,
            ..AuditFilter::default()
        })
        .await;
        let order: Vec<_> = all.iter().map(|e| e.action.clone()).collect();
        let expected: Vec<_> = (0..30).map(|i| format!("action-{i}")).collect();
        assert_eq!(order, expected, "{backend}");
        let of_a = read(AuditFilter {
            actor: Some("caller:a".into()),
            limit: 1000,
            ..AuditFilter::default()
        })
        .await;
        assert_eq!(of_a.len(), 10, "{backend}");
        let since = read(AuditFilter {
            since: Some(t0() + TimeDelta::seconds(4)),
            limit: 1000,
            ..AuditFilter::default()
        })
        .await;
        assert!(!since.is_empty());
        assert!(since.iter().all(|e| e.at >= t0() + TimeDelta::seconds(4)));
        let until = read(AuditFilter {
            until: Some(t0() + TimeDelta::seconds(1)),
            limit: 1000,
            ..AuditFilter::default()
        })
        .await;
        assert_eq!(until.len(), 6, "{backend}: until is exclusive");
        assert!(until.iter().all(|e| e.at == t0()));
        assert_eq!(
            read(AuditFilter {
                limit: 5,
                ..AuditFilter::default()
            })
            .await
            .len(),
            5,
            "{backend}: limit"
        );
        let newest: Vec<_> = read(AuditFilter {
            limit: 3,
            newest_first: true,
            ..AuditFilter::default()
        })
        .await
        .into_iter()
        .map(|e| e.action)
        .collect();
        assert_eq!(
            newest,
            ["action-29", "action-28", "action-27"],
            "{backend}: the newest rows, newest first"
        );
    }
}

/// Rows appended at once are written together (group commit): every row a
/// caller was told is written is there, whole, once, and each caller's own
/// rows keep their order.
#[tokio::test]
async fn durable_store_audit_rows_appended_at_once_are_all_written_whole_and_in_order() {
    for (backend, store, _dir) in durable_stores().await {
        let callers = 40;
        let per_caller = 15;
        let mut tasks = Vec::new();
        for caller in 0..callers {
            let store = Arc::clone(&store);
            tasks.push(tokio::spawn(async move {
                for n in 0..per_caller {
                    let entry = AuditEntry {
                        at: t0() + TimeDelta::seconds(n),
                        actor: format!("caller:{caller}"),
                        action: "embed.redeem".into(),
                        subject: (n % 2 == 0).then(|| format!("user-{caller}-{n}")),
                        realm: Some("tenant-a".into()),
                        audience: None,
                        outcome: if n % 3 == 0 {
                            AuditOutcome::Denied
                        } else {
                            AuditOutcome::Granted
                        },
                        reason: (n % 3 == 0).then(|| "replayed".to_owned()),
                        source: Some("198.51.100.7".into()),
                        request_id: Some(format!("r-{caller}-{n}")),
                        token_jti: Some(format!("j-{caller}-{n}")),
                        token_expires_at: (n % 2 == 1).then(|| t0() + TimeDelta::minutes(5)),
                    };
                    store.append(&entry).await.unwrap();
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        let all = store
            .audit(&AuditFilter {
                limit: 10_000,
                ..AuditFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(all.len(), 600, "{backend}");
        for caller in 0..callers {
            let actor = format!("caller:{caller}");
            let mine: Vec<_> = all.iter().filter(|e| e.actor == actor).collect();
            let ids: Vec<_> = mine.iter().map(|e| e.request_id.clone().unwrap()).collect();
            let expected: Vec<_> = (0..per_caller).map(|n| format!("r-{caller}-{n}")).collect();
            assert_eq!(
                ids, expected,
                "{backend}: {actor}'s rows, once each, in order"
            );
            for (n, e) in (0..per_caller).zip(&mine) {
                assert_eq!(e.at, t0() + TimeDelta::seconds(n), "{backend}");
                assert_eq!(
                    e.subject,
                    (n % 2 == 0).then(|| format!("user-{caller}-{n}"))
                );
                assert_eq!(e.audience, None);
                assert_eq!(e.reason.is_some(), n % 3 == 0);
                assert_eq!(e.outcome == AuditOutcome::Denied, n % 3 == 0);
                assert_eq!(
                    e.token_jti.as_deref(),
                    Some(format!("j-{caller}-{n}").as_str())
                );
                assert_eq!(
                    e.token_expires_at,
                    (n % 2 == 1).then(|| t0() + TimeDelta::minutes(5)),
                    "{backend}"
                );
            }
        }
    }
}

/// A row the database refuses (PostgreSQL holds no NUL in text) fails alone:
/// the rows appended with it, in the same batch, are written.
#[tokio::test]
async fn durable_store_an_audit_row_the_database_refuses_fails_alone() {
    for (backend, store, _dir) in durable_stores().await {
        let append = |n: usize, subject: String| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let entry = AuditEntry {
                    at: t0(),
                    actor: "caller:a".into(),
                    action: format!("action-{n}"),
                    subject: Some(subject),
                    outcome: AuditOutcome::Granted,
                    ..AuditEntry::default()
                };
                store.append(&entry).await
            })
        };
        let good: Vec<_> = (0..50).map(|n| append(n, format!("user-{n}"))).collect();
        let odd = append(50, "user\0with a NUL".into());
        for task in good {
            task.await.unwrap().unwrap();
        }
        let odd_written = odd.await.unwrap().is_ok();
        let all = store
            .audit(&AuditFilter {
                limit: 1000,
                ..AuditFilter::default()
            })
            .await
            .unwrap();
        let mut actions: Vec<_> = all.iter().map(|e| e.action.clone()).collect();
        actions.sort();
        let mut expected: Vec<_> = (0..50).map(|n| format!("action-{n}")).collect();
        if odd_written {
            expected.push("action-50".into());
        }
        expected.sort();
        assert_eq!(actions, expected, "{backend}");
        if backend == "postgres" {
            assert!(!odd_written, "PostgreSQL refuses a NUL in text");
        }
    }
}

#[tokio::test]
async fn durable_store_audit_filters_by_action_and_outcome() {
    for (backend, store, _dir) in durable_stores().await {
        let read = |filter: AuditFilter| {
            let store = Arc::clone(&store);
            async move { store.audit(&filter).await.unwrap() }
        };
        // An action names itself and the actions under it, never a mere prefix,
        // and `_` or `%` in it are letters, not patterns.
        for (action, outcome) in [
            ("client.create", "changed"),
            ("client.update", "changed"),
            ("clients.x", "changed"),
            ("client", "denied"),
            ("a_b.c", "changed"),
            ("axb.c", "changed"),
        ] {
            store
                .append(&AuditEntry {
                    at: t0(),
                    actor: "admin:ops".into(),
                    action: action.into(),
                    outcome: AuditOutcome::parse(outcome).unwrap(),
                    ..AuditEntry::default()
                })
                .await
                .unwrap();
        }
        let actions =
            |rows: Vec<AuditEntry>| rows.into_iter().map(|e| e.action).collect::<Vec<_>>();
        assert_eq!(
            actions(
                read(AuditFilter {
                    action: Some("client".into()),
                    limit: 100,
                    ..AuditFilter::default()
                })
                .await
            ),
            ["client.create", "client.update", "client"],
            "{backend}"
        );
        assert_eq!(
            actions(
                read(AuditFilter {
                    action: Some("a_b".into()),
                    limit: 100,
                    ..AuditFilter::default()
                })
                .await
            ),
            ["a_b.c"],
            "{backend}"
        );
        assert_eq!(
            actions(
                read(AuditFilter {
                    action: Some("client".into()),
                    outcome: Some("changed".into()),
                    limit: 100,
                    ..AuditFilter::default()
                })
                .await
            ),
            ["client.create", "client.update"],
            "{backend}"
        );
    }
}

#[tokio::test]
async fn durable_store_the_audit_trail_refuses_changes_in_the_database_itself() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("authproxy.db");
    let sqlite = SqliteStore::open(&path, sealer()).unwrap();
    sqlite
        .append(&AuditEntry {
            actor: "x".into(),
            action: "a".into(),
            outcome: AuditOutcome::Granted,
            ..AuditEntry::default()
        })
        .await
        .unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    assert!(conn.execute("UPDATE audit SET actor = 'y'", []).is_err());
    assert!(conn.execute("DELETE FROM audit", []).is_err());

    let url = fresh_database().await;
    let postgres = PostgresStore::open(&SecretString::from(url.clone()), sealer())
        .await
        .unwrap();
    postgres
        .append(&AuditEntry {
            actor: "x".into(),
            action: "a".into(),
            outcome: AuditOutcome::Granted,
            ..AuditEntry::default()
        })
        .await
        .unwrap();
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    for statement in [
        "UPDATE audit SET actor = 'y'",
        "DELETE FROM audit",
        "TRUNCATE audit",
    ] {
        let refused = sqlx::query(statement).execute(&pool).await.unwrap_err();
        assert!(
            refused.to_string().contains("append-only"),
            "{statement}: {refused}"
        );
    }
}

#[tokio::test]
async fn postgres_migrations_apply_once_when_replicas_start_together() {
    let url = SecretString::from(fresh_database().await);
    let starts: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { PostgresStore::open(&url, sealer()).await.map(|_| ()) })
        })
        .collect();
    for start in starts {
        start.await.unwrap().unwrap();
    }
    let pool = sqlx::PgPool::connect(url.expose_secret()).await.unwrap();
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
        .fetch_one(&pool)
        .await
        .unwrap();
    let migrations = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/src/store/postgres"))
        .unwrap()
        .filter(|entry| {
            entry
                .as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "sql"))
        })
        .count();
    assert!(migrations >= 3);
    assert_eq!(
        applied,
        i64::try_from(migrations).unwrap(),
        "each migration, once"
    );
}

#[tokio::test]
#[expect(
    clippy::too_many_lines,
    reason = "one backend loop: raw documents, then the typed layer"
)]
async fn durable_store_documents_round_trip_with_sealed_secrets_bound_to_their_row() {
    use authproxy::store::Document;
    use authproxy::store::tenants::TenantStore as _;
    for (backend, store, _dir) in durable_stores().await {
        let doc = |id: &str, owner: &str, secret: Option<&[u8]>| Document {
            id: id.into(),
            owner: owner.into(),
            body: format!(r#"{{"id":"{id}"}}"#),
            secret: secret.map(|s| secrecy::SecretSlice::from(s.to_vec())),
        };
        store
            .put_document("host_key", &doc("acme/k1", "acme", Some(b"s1")))
            .await
            .unwrap();
        store
            .put_document("host_key", &doc("acme/k2", "acme", None))
            .await
            .unwrap();
        store
            .put_document("host_key", &doc("globex/k1", "globex", None))
            .await
            .unwrap();
        store
            .put_document("tenant", &doc("acme/k1", "", None))
            .await
            .unwrap();
        let read = store
            .document("host_key", "acme/k1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(read.body, r#"{"id":"acme/k1"}"#, "{backend}");
        assert_eq!(
            read.secret.unwrap().expose_secret(),
            b"s1",
            "{backend}: opened"
        );
        let ids = |docs: Vec<Document>| docs.into_iter().map(|d| d.id).collect::<Vec<_>>();
        assert_eq!(
            ids(store.documents("host_key", Some("acme")).await.unwrap()),
            ["acme/k1", "acme/k2"]
        );
        assert_eq!(
            ids(store.documents("host_key", None).await.unwrap()).len(),
            3,
            "{backend}"
        );
        assert_eq!(
            ids(store.documents("tenant", None).await.unwrap()),
            ["acme/k1"],
            "kinds apart"
        );
        // Replaced as a whole.
        store
            .put_document("host_key", &doc("acme/k1", "acme", None))
            .await
            .unwrap();
        assert!(
            store
                .document("host_key", "acme/k1")
                .await
                .unwrap()
                .unwrap()
                .secret
                .is_none()
        );
        assert!(store.delete_document("host_key", "acme/k1").await.unwrap());
        assert!(
            !store.delete_document("host_key", "acme/k1").await.unwrap(),
            "{backend}"
        );
        assert!(
            store
                .document("host_key", "acme/k1")
                .await
                .unwrap()
                .is_none()
        );
        // The typed layer: a tenant reads back as written.
        assert!(
            store.tenants().await.is_err(),
            "{backend}: a body that is no tenant is corrupt"
        );
        store.delete_document("tenant", "acme/k1").await.unwrap();
        let tenant = authproxy::domain::Tenant {
            id: authproxy::domain::TenantId::parse("acme").unwrap(),
            environment: authproxy::domain::Environment::Sandbox,
            parent: None,
            parent_may_act: false,
            realm: RealmName::parse("tenant-a").unwrap(),
            clients: vec![ClientId::parse("crm.example").unwrap()],
            provisioning: authproxy::domain::Provisioning::Create,
            max_session_secs: 3600,
            allow_hs256: false,
            hosts_vouch_for_emails: false,
            jwks_url: None,
            assertion_grant_idp: None,
            embeds: authproxy::domain::EmbedSettings::default(),
            sso: authproxy::domain::SsoSettings::default(),
        };
        store.put_tenant(&tenant).await.unwrap();
        assert_eq!(
            store.tenant(&tenant.id).await.unwrap(),
            Some(tenant),
            "{backend}"
        );
    }
}

#[tokio::test]
async fn login_store_session_ends_reach_waiters_on_other_replicas() {
    use authproxy::store::SessionKeys;
    for (backend, a, b) in login_stores().await {
        let user = format!("user-{}", crypto::random_token().unwrap());
        let keys = |sid: &str| SessionKeys {
            session: format!("{user}/{sid}"),
            user: user.clone(),
        };
        let started = t0();
        assert!(
            !a.session_ended(&keys("s1"), started).await.unwrap(),
            "{backend}"
        );
        // One session ends: the other stays.
        b.end_sessions(&keys("s1").session, &user, t0(), t0() + TimeDelta::hours(1))
            .await
            .unwrap();
        assert!(
            a.session_ended(&keys("s1"), started).await.unwrap(),
            "{backend}"
        );
        assert!(
            !a.session_ended(&keys("s2"), started).await.unwrap(),
            "{backend}"
        );
        // All of the user's sessions started before the end; a later one lives.
        let waiter = {
            let (a, keys) = (Arc::clone(&a), keys("s2"));
            tokio::spawn(async move {
                let begun = Instant::now();
                a.wait_for_session_end(&keys, started, Duration::from_secs(20))
                    .await
                    .unwrap();
                begun.elapsed()
            })
        };
        tokio::time::sleep(Duration::from_millis(200)).await;
        let at = t0() + TimeDelta::seconds(10);
        b.end_sessions(&user, &user, at, at + TimeDelta::hours(1))
            .await
            .unwrap();
        let woke_after = waiter.await.unwrap();
        assert!(
            woke_after < Duration::from_secs(3),
            "{backend}: woke after {woke_after:?}"
        );
        assert!(
            a.session_ended(&keys("s2"), started).await.unwrap(),
            "{backend}"
        );
        assert!(
            !a.session_ended(&keys("s3"), at + TimeDelta::seconds(1))
                .await
                .unwrap(),
            "{backend}"
        );
    }
}

#[tokio::test]
async fn login_store_a_one_time_value_is_taken_once_even_by_racing_replicas() {
    use authproxy::store::OneTime;
    for (backend, a, b) in login_stores().await {
        let key = format!("ticket-{}", crypto::random_token().unwrap());
        let until = t0() + TimeDelta::seconds(120);
        assert!(
            a.put_once(&key, b"sealed", until, t0()).await.unwrap(),
            "{backend}"
        );
        // A look does not take it.
        for _ in 0..2 {
            assert_eq!(
                b.peek_once(&key, t0()).await.unwrap(),
                Some(b"sealed".to_vec()),
                "{backend}"
            );
        }
        assert!(
            !b.put_once(&key, b"other", until, t0()).await.unwrap(),
            "{backend}: a key is made once"
        );
        let racers: Vec<_> = (0..16)
            .map(|i| {
                let store = Arc::clone(if i % 2 == 0 { &a } else { &b });
                let key = key.clone();
                tokio::spawn(async move { store.take_once(&key, t0()).await.unwrap() })
            })
            .collect();
        let mut taken = Vec::new();
        for racer in racers {
            match racer.await.unwrap() {
                OneTime::Taken(value) => taken.push(value),
                OneTime::Used => {}
                other => panic!("{backend}: {other:?}"),
            }
        }
        assert_eq!(taken, [b"sealed".to_vec()], "{backend}: exactly one taker");
        assert_eq!(a.take_once(&key, t0()).await.unwrap(), OneTime::Used);
        assert_eq!(
            b.peek_once(&key, t0()).await.unwrap(),
            None,
            "{backend}: taken"
        );
        // Expiry by the caller's clock; an unknown key is unknown.
        let late = format!("late-{}", crypto::random_token().unwrap());
        a.put_once(&late, b"v", until, t0()).await.unwrap();
        assert_eq!(b.peek_once(&late, until).await.unwrap(), None, "{backend}");
        assert_eq!(
            b.take_once(&late, until).await.unwrap(),
            OneTime::Expired,
            "{backend}"
        );
        assert_eq!(
            b.take_once("never-made", t0()).await.unwrap(),
            OneTime::Unknown,
            "{backend}"
        );
    }
}

#[tokio::test]
async fn login_store_a_slot_has_one_holder_replaced_or_kept_as_asked() {
    use authproxy::store::SlotClaim;
    for (backend, a, b) in login_stores().await {
        let slot = format!("slot-{}", crypto::random_token().unwrap());
        let until = t0() + TimeDelta::minutes(2);
        let claim = |store: &Arc<dyn LoginStore>, holder: &'static str, replace: bool, now| {
            let (store, slot) = (Arc::clone(store), slot.clone());
            async move {
                store
                    .claim_slot(&slot, holder, replace, now + TimeDelta::minutes(2), now)
                    .await
                    .unwrap()
            }
        };
        assert_eq!(
            claim(&a, "s1", false, t0()).await,
            SlotClaim::Claimed { displaced: None }
        );
        assert_eq!(
            claim(&b, "s2", false, t0()).await,
            SlotClaim::Held,
            "{backend}"
        );
        assert_eq!(
            claim(&b, "s1", false, t0()).await,
            SlotClaim::Claimed { displaced: None },
            "{backend}: the holder renews"
        );
        assert_eq!(
            claim(&b, "s2", true, t0()).await,
            SlotClaim::Claimed {
                displaced: Some("s1".into())
            },
            "{backend}"
        );
        assert_eq!(
            a.slot_holder(&slot, t0()).await.unwrap().as_deref(),
            Some("s2")
        );
        assert!(
            !a.release_slot(&slot, "s1").await.unwrap(),
            "{backend}: only the holder frees it"
        );
        assert!(a.release_slot(&slot, "s2").await.unwrap(), "{backend}");
        assert_eq!(a.slot_holder(&slot, t0()).await.unwrap(), None);
        // A lapsed lease is free.
        claim(&a, "s3", false, t0()).await;
        assert_eq!(
            claim(&b, "s4", false, until).await,
            SlotClaim::Claimed { displaced: None },
            "{backend}"
        );
        // Racing claims that replace: each displaces the one before, and one holds.
        let racers: Vec<_> = (0..32)
            .map(|i| {
                let store = Arc::clone(if i % 2 == 0 { &a } else { &b });
                let slot = slot.clone();
                tokio::spawn(async move {
                    let holder = format!("r{i}");
                    let claim = store
                        .claim_slot(&slot, &holder, true, until + TimeDelta::minutes(2), until)
                        .await
                        .unwrap();
                    (holder, claim)
                })
            })
            .collect();
        let mut displaced = std::collections::HashSet::new();
        let mut holders = Vec::new();
        for racer in racers {
            let (holder, claim) = racer.await.unwrap();
            holders.push(holder);
            if let SlotClaim::Claimed { displaced: Some(d) } = claim {
                assert!(displaced.insert(d), "{backend}: displaced once");
            }
        }
        let last = a.slot_holder(&slot, until).await.unwrap().unwrap();
        assert_eq!(
            displaced.len(),
            32,
            "{backend}: s4 and all racers but the last"
        );
        assert!(!displaced.contains(&last) && holders.contains(&last));
    }
}

#[tokio::test]
async fn durable_store_a_document_is_created_once_even_by_racing_writers() {
    use authproxy::store::Document;
    for (backend, store, _dir) in durable_stores().await {
        let racers: Vec<_> = (0..16)
            .map(|i| {
                let store = Arc::clone(&store);
                tokio::spawn(async move {
                    let doc = Document {
                        id: "acme/ev-1/key".into(),
                        owner: "acme".into(),
                        body: format!(r#"{{"writer":{i}}}"#),
                        secret: None,
                    };
                    store
                        .create_document("registration_email", &doc)
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut created = 0;
        for racer in racers {
            created += usize::from(racer.await.unwrap());
        }
        assert_eq!(created, 1, "{backend}: exactly one writer creates it");
        let kept = store
            .document("registration_email", "acme/ev-1/key")
            .await
            .unwrap()
            .unwrap();
        assert!(kept.body.starts_with(r#"{"writer":"#), "{backend}");
    }
}

#[tokio::test]
async fn the_sqlite_file_its_wal_and_a_backup_copy_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt as _;
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("authproxy.db");
    let store = SqliteStore::open(&path, sealer()).unwrap();
    store
        .append(&AuditEntry {
            at: t0(),
            actor: "tests".into(),
            action: "mode.check".into(),
            outcome: AuditOutcome::Granted,
            ..AuditEntry::default()
        })
        .await
        .unwrap();
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&dir.path().join("authproxy.db-wal")), 0o600);
    let copy = dir.path().join("copy.db");
    store.backup_to(&copy).await.unwrap();
    assert_eq!(mode(&copy), 0o600);
    // A file left readable by others (an older version made it 0644) is tightened.
    drop(store);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let _reopened = SqliteStore::open(&path, sealer()).unwrap();
    assert_eq!(mode(&path), 0o600);
}

#[tokio::test]
async fn an_sqlite_database_of_schema_6_keeps_its_clients_which_ask_as_before() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("authproxy.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE clients (client_id TEXT PRIMARY KEY NOT NULL, realms TEXT NOT NULL,
                 origins TEXT NOT NULL, secret BLOB) WITHOUT ROWID;
             INSERT INTO clients VALUES ('crm.example', '[\"tenant-a\"]', '[\"https://crm.example\"]', NULL);
             PRAGMA user_version = 6;",
        )
        .unwrap();
    }
    let store = SqliteStore::open(&path, sealer()).unwrap();
    let clients = authproxy::store::RegistryStore::clients(&store)
        .await
        .unwrap();
    assert_eq!(clients.len(), 1);
    assert_eq!(clients[0].id.as_str(), "crm.example");
    assert_eq!(clients[0].approval, authproxy::domain::Approval::Ask);
}

#[tokio::test]
async fn durable_store_directory_import_keeps_the_last_rule_of_a_key_across_batches() {
    for (backend, store, _dir) in durable_stores().await {
        let user = |u: &str| Username::parse(u).unwrap();
        // Ten thousand rules and more, so a store that writes in batches
        // crosses a batch; each key is given twice, and one twice in a row.
        let first = (0..6_000).map(|i| {
            rule(
                RuleKey::User(user(&format!("u{i}@bulk.test"))),
                Some("first"),
            )
        });
        let again = (0..6_000).map(|i| {
            rule(
                RuleKey::User(user(&format!("u{i}@bulk.test"))),
                Some("again"),
            )
        });
        let twice = [
            rule(RuleKey::User(user("twice@bulk.test")), Some("one")),
            rule(RuleKey::User(user("twice@bulk.test")), Some("two")),
        ];
        let rules: Vec<_> = first.chain(again).chain(twice).collect();
        let count = store
            .import_rules(Box::new(rules.into_iter()), true)
            .await
            .unwrap();
        assert_eq!(count, 12_002, "{backend}");
        for (who, expected) in [
            ("u0@bulk.test", "again"),
            ("u5999@bulk.test", "again"),
            ("twice@bulk.test", "two"),
        ] {
            match store.resolve(&user(who)).await.unwrap() {
                Resolution::Found(Target::Sso { realm, .. }) => {
                    assert_eq!(realm.as_str(), expected, "{backend}: {who}");
                }
                other => panic!("{backend}: {who} resolved to {other:?}"),
            }
        }
        let exported = store.export_csv().await.unwrap();
        assert_eq!(
            exported.lines().count(),
            1 + 6_001,
            "{backend}: one row per key"
        );
    }
}
