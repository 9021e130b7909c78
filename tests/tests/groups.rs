//! Group administration: settings, effective view, the chat's obedience to them, and exact
//! daily usage limits.

use chatai_server::store::{LimitHit, UsageKey};
use chatai_tests::TestServer;

#[tokio::test]
async fn concurrent_reservations_admit_exactly_the_limit() {
    let server = TestServer::start().await;
    let store = server.running().state.store.clone();
    let key = |user: &str| UsageKey {
        day: "2026-12-07".into(),
        group_id: "g".into(),
        user_id: user.into(),
    };
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let store = store.clone();
            let key = key("m1");
            tokio::spawn(async move { store.reserve_usage(&key, None, Some(10)).await })
        })
        .collect();
    let mut admitted = 0;
    let mut refused = 0;
    for task in tasks {
        match task.await.expect("task").expect("reserve") {
            None => admitted += 1,
            Some(LimitHit::User) => refused += 1,
            Some(other) => panic!("{other:?}"),
        }
    }
    assert_eq!((admitted, refused), (10, 54));
    let rows = store.usage_of("2026-12-07", "g").await.expect("usage");
    let counts: Vec<(String, u64)> = rows.iter().map(|r| (r.user_id.clone(), r.count)).collect();
    assert_eq!(counts, [("".to_owned(), 10), ("m1".to_owned(), 10)]);
    store.release_usage(&key("m1")).await.expect("release");
    assert_eq!(store.reserve_usage(&key("m1"), Some(10), Some(10)).await.expect("r"), None);
    assert_eq!(
        store.reserve_usage(&key("m2"), Some(10), None).await.expect("r"),
        Some(LimitHit::Group)
    );
    server.stop().await;
}
