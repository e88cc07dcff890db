//! Concurrent membership writes over HTTP: each request is atomic, and the member counter
//! (`result_info.total_count`) stays equal to the real set.

use std::collections::BTreeSet;

use serde_json::json;

use super::support::*;
use crate::helpers::*;

#[tokio::test]
async fn concurrent_replaces_leave_exactly_one_of_the_sets() {
    let app = TestApp::spawn();
    let ms = members(&app, "c", 40).await;
    let (a, b) = ms.split_at(20);
    let set_a: BTreeSet<String> = a.iter().cloned().collect();
    let set_b: BTreeSet<String> = b.iter().cloned().collect();
    let g = ug(&app, "Contended").await;
    let path = gm_path(&app, &g, "");
    let cred = app.admin();
    for round in 0..10 {
        let (ra, rb) = tokio::join!(
            app.put(&path, &cred, id_list(a)),
            app.put(&path, &cred, id_list(b)),
        );
        // Each answer is the full set its own request wrote.
        let got_a: BTreeSet<String> = ids(ra.list()).into_iter().collect();
        let got_b: BTreeSet<String> = ids(rb.list()).into_iter().collect();
        assert_eq!(got_a, set_a, "round {round}: {ra}");
        assert_eq!(got_b, set_b, "round {round}: {rb}");
        let now: BTreeSet<String> = group_member_ids(&app, &g).await.into_iter().collect();
        assert!(
            now == set_a || now == set_b,
            "round {round}: the final set must be one of the two, got {} members",
            now.len()
        );
        assert_eq!(
            member_total(&app, &g).await,
            20,
            "round {round}: total_count"
        );
    }
}

#[tokio::test]
async fn concurrent_adds_and_removes_keep_the_count_right() {
    let app = TestApp::spawn();
    let ms = members(&app, "k", 20).await;
    let g = ug(&app, "Busy").await;
    let path = gm_path(&app, &g, "");
    app.post(&path, &app.admin(), id_list(&ms[..10])).await.ok();
    for round in 0..5 {
        // Overlapping adds and removes of the same members at once.
        let removes = async {
            for m in &ms[..5] {
                let r = app
                    .delete(&gm_path(&app, &g, &format!("/{m}")), &app.admin())
                    .await;
                assert!(r.status == 200 || r.status == 404, "{r}");
            }
        };
        let adds = async {
            for chunk in ms.chunks(5) {
                app.post(&path, &app.admin(), id_list(chunk)).await.ok();
            }
        };
        tokio::join!(removes, adds);
        let now = group_member_ids(&app, &g).await;
        assert_eq!(
            member_total(&app, &g).await,
            now.len() as u64,
            "round {round}: total_count equals the members listed"
        );
        assert!(
            now.len() >= 15,
            "round {round}: members 5..20 stay: {now:?}"
        );
    }
}

#[tokio::test]
async fn concurrent_add_and_group_delete_are_consistent() {
    let app = TestApp::spawn();
    let ms = members(&app, "z", 10).await;
    for round in 0..10 {
        let g = ug(&app, &format!("Short-lived {round}")).await;
        let path = gm_path(&app, &g, "");
        let group_path = ug_path(&app, &format!("/{g}"));
        let cred = app.admin();
        let (added, deleted) = tokio::join!(
            app.post(&path, &cred, id_list(&ms)),
            app.delete(&group_path, &cred),
        );
        assert_eq!(
            deleted.ok(),
            &json!({ "id": g }),
            "round {round}: {deleted}"
        );
        match added.status {
            200 => assert_eq!(ids(added.list()), ms, "round {round}: {added}"),
            404 => {
                added.err(404, 1003);
            }
            other => panic!("round {round}: add answered {other}: {added}"),
        }
        let r = app
            .get(&ug_path(&app, &format!("/{g}")), &app.admin())
            .await;
        r.err(404, 1003);
        let r = app.get(&path, &app.admin()).await;
        r.err(404, 1003);
        let r = app.post(&path, &app.admin(), id_list(&ms)).await;
        r.err(404, 1003);
    }
    // No group is left and the account's group counter agrees.
    let r = app.get(&ug_path(&app, ""), &app.admin()).await;
    assert!(r.list().is_empty(), "{r}");
    assert_eq!(r.info()["total_count"], json!(0), "{r}");
    // The members are all still account members and can join a new group.
    let g = ug(&app, "Survivor").await;
    let r = app
        .post(&gm_path(&app, &g, ""), &app.admin(), id_list(&ms))
        .await;
    assert_eq!(ids(r.list()), ms, "{r}");
    assert_eq!(member_total(&app, &g).await, 10);
}

#[tokio::test]
async fn concurrent_creates_with_one_name_yield_one_group() {
    let app = TestApp::spawn();
    let path = ug_path(&app, "");
    let cred = app.admin();
    for round in 0..5 {
        let name = format!("Race {round}");
        let upper = name.to_uppercase();
        let (r1, r2) = tokio::join!(
            app.post(&path, &cred, json!({ "name": name })),
            app.post(&path, &cred, json!({ "name": upper })),
        );
        let statuses = [r1.status, r2.status];
        assert!(
            statuses.contains(&200) && statuses.contains(&409),
            "round {round}: one wins, one conflicts: {r1} / {r2}"
        );
        let loser = if r1.status == 409 { &r1 } else { &r2 };
        loser.err(409, 1002);
    }
    let r = app.get(&ug_path(&app, ""), &app.admin()).await;
    assert_eq!(r.list().len(), 5, "{r}");
    assert_eq!(r.info()["total_count"], json!(5), "{r}");
}
