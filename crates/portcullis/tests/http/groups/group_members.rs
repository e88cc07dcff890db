//! User-group members (api.md §5 "User-group members", api-decisions.md "User groups and their
//! members").

use reqwest::Method;
use serde_json::{json, Value};

use super::support::*;
use crate::helpers::*;

fn check_gm_shape(m: &Value) {
    assert_id(&m["id"], "group_member.id");
    assert!(m["email"].is_string(), "email: {m}");
    assert!(
        m["status"] == json!("accepted") || m["status"] == json!("pending"),
        "status: {m}"
    );
}

fn emails(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|v| v["email"].as_str().unwrap_or_default().to_string())
        .collect()
}

async fn member_email(app: &TestApp, id: &str) -> String {
    let r = app
        .get(&app.acct(&format!("/members/{id}")), &app.admin())
        .await;
    str_field(r.ok(), "email")
}

#[tokio::test]
async fn add_is_idempotent_and_answers_the_members_named() {
    let app = TestApp::spawn();
    let ms = members(&app, "m", 5).await;
    let g = ug(&app, "G").await;
    let t0 = modified_on(&app, &g).await;

    let r = app
        .post(
            &gm_path(&app, &g, ""),
            &app.admin(),
            id_list(&[ms[3].clone(), ms[1].clone(), ms[3].clone()]),
        )
        .await;
    let added = r.list().clone();
    for m in &added {
        check_gm_shape(m);
        assert_eq!(m["status"], json!("pending"), "{r}");
    }
    assert_eq!(
        ids(&added),
        vec![ms[1].clone(), ms[3].clone()],
        "by email, repeats once: {r}"
    );
    assert_eq!(
        emails(&added),
        vec!["m01@example.com", "m03@example.com"],
        "{r}"
    );
    assert_eq!(member_total(&app, &g).await, 2);
    let t1 = modified_on(&app, &g).await;
    assert_moved(&t0, &t1, "add");

    // Adding again: no error, same answer, nothing counted twice.
    let r = app
        .post(
            &gm_path(&app, &g, ""),
            &app.admin(),
            id_list(&[ms[1].clone()]),
        )
        .await;
    assert_eq!(ids(r.list()), vec![ms[1].clone()], "{r}");
    assert_eq!(member_total(&app, &g).await, 2);

    // A mix of new and existing: answers exactly the named ones.
    let r = app
        .post(
            &gm_path(&app, &g, ""),
            &app.admin(),
            id_list(&[ms[4].clone(), ms[0].clone(), ms[1].clone(), ms[2].clone()]),
        )
        .await;
    assert_eq!(
        ids(r.list()),
        vec![ms[0].clone(), ms[1].clone(), ms[2].clone(), ms[4].clone()],
        "{r}"
    );
    assert_eq!(member_total(&app, &g).await, 5);
    assert_eq!(group_member_ids(&app, &g).await, ms);
    let t2 = modified_on(&app, &g).await;
    assert_moved(&t1, &t2, "second add");

    // An empty body is an empty list.
    let r = app
        .post(&gm_path(&app, &g, ""), &app.admin(), json!([]))
        .await;
    assert!(r.list().is_empty(), "{r}");
    assert_eq!(member_total(&app, &g).await, 5);
}

#[tokio::test]
async fn add_refuses_bad_bodies_and_adds_nothing() {
    let app = TestApp::spawn();
    let ms = members(&app, "m", 2).await;
    let g = ug(&app, "G").await;
    let path = gm_path(&app, &g, "");
    let t0 = modified_on(&app, &g).await;

    let other = app.create_account("Other").await;
    let foreign = app
        .create_member(
            &other,
            &app.admin_key(),
            "stranger@example.com",
            &[ROLE_ADMIN_READ_ONLY],
            None,
        )
        .await;
    let foreign_id = str_field(&foreign, "id");

    let url = app.url(&path);
    let cred = app.admin();
    for method in [Method::POST, Method::PUT] {
        let send = |body: Value| app.send(method.clone(), &url, &cred, Body::Json(body));
        let r = send(json!([{ "id": ms[0] }, { "id": UNKNOWN_ID }])).await;
        assert_error_mentions(&r, 404, 1003, &[UNKNOWN_ID]);
        let r = send(json!([{ "id": foreign_id }, { "id": ms[1] }])).await;
        assert_error_mentions(&r, 404, 1003, &[&foreign_id]);
        let r = send(json!([{ "id": ms[0] }, { "id": "not-a-member-id" }])).await;
        assert_only_pointer(&r, "/1/id");
        let r = send(json!([{ "id": ms[0].to_uppercase() }])).await;
        assert_only_pointer(&r, "/0/id");
        let r = send(json!([{}])).await;
        r.validation("/0/id");
        let r = send(json!([{ "id": 5 }])).await;
        r.validation("/0/id");
        let r = send(json!({ "id": ms[0] })).await;
        r.err(400, 1001);
        let r = send(json!([ms[0]])).await;
        r.validation("/0");
        let r = app
            .send(
                method.clone(),
                &url,
                &cred,
                Body::Raw(b"[{\"id\": ".to_vec(), "application/json"),
            )
            .await;
        r.err(400, 6007);
    }
    assert!(
        group_member_ids(&app, &g).await.is_empty(),
        "nothing was added"
    );
    assert_eq!(member_total(&app, &g).await, 0);
    assert_eq!(modified_on(&app, &g).await, t0, "nothing changed");

    // Unknown group.
    let r = app
        .post(&gm_path(&app, UNKNOWN_ID, ""), &app.admin(), id_list(&ms))
        .await;
    assert_error_mentions(&r, 404, 1003, &[UNKNOWN_ID]);
    let r = app
        .put(&gm_path(&app, UNKNOWN_ID, ""), &app.admin(), id_list(&ms))
        .await;
    r.err(404, 1003);
    let r = app.get(&gm_path(&app, UNKNOWN_ID, ""), &app.admin()).await;
    r.err(404, 1003);
}

#[tokio::test]
async fn replace_sets_the_full_set() {
    let app = TestApp::spawn();
    let ms = members(&app, "r", 4).await;
    let g = ug(&app, "G").await;
    let path = gm_path(&app, &g, "");
    app.post(&path, &app.admin(), id_list(&ms[..3])).await.ok();
    let r = app
        .get(&gm_path(&app, &g, &format!("/{}", ms[2])), &app.admin())
        .await;
    let kept_added = str_field(r.ok(), "created_at");
    let t0 = modified_on(&app, &g).await;

    let r = app
        .put(
            &path,
            &app.admin(),
            id_list(&[ms[3].clone(), ms[2].clone(), ms[3].clone()]),
        )
        .await;
    let set = r.list().clone();
    for m in &set {
        check_gm_shape(m);
    }
    assert_eq!(ids(&set), vec![ms[2].clone(), ms[3].clone()], "{r}");
    assert_eq!(
        emails(&set),
        vec!["r02@example.com", "r03@example.com"],
        "{r}"
    );
    assert_eq!(
        group_member_ids(&app, &g).await,
        vec![ms[2].clone(), ms[3].clone()]
    );
    assert_eq!(member_total(&app, &g).await, 2);
    let t1 = modified_on(&app, &g).await;
    assert_moved(&t0, &t1, "replace");
    let r = app
        .get(&gm_path(&app, &g, &format!("/{}", ms[2])), &app.admin())
        .await;
    assert_eq!(
        str_field(r.ok(), "created_at"),
        kept_added,
        "a member kept by a replace keeps its added time: {r}"
    );
    let r = app
        .get(&gm_path(&app, &g, &format!("/{}", ms[0])), &app.admin())
        .await;
    r.err(404, 1003);

    // Unknown id: nothing replaced.
    let r = app
        .put(
            &path,
            &app.admin(),
            id_list(&[ms[0].clone(), UNKNOWN_ID.to_string()]),
        )
        .await;
    r.err(404, 1003);
    assert_eq!(
        group_member_ids(&app, &g).await,
        vec![ms[2].clone(), ms[3].clone()]
    );
    assert_eq!(member_total(&app, &g).await, 2);

    // The same set again: same answer.
    let r = app
        .put(
            &path,
            &app.admin(),
            id_list(&[ms[2].clone(), ms[3].clone()]),
        )
        .await;
    assert_eq!(ids(r.list()), vec![ms[2].clone(), ms[3].clone()], "{r}");
    assert_eq!(member_total(&app, &g).await, 2);

    // Grow to everything, then `[]` empties the group.
    let r = app.put(&path, &app.admin(), id_list(&ms)).await;
    assert_eq!(ids(r.list()), ms, "{r}");
    assert_eq!(member_total(&app, &g).await, 4);
    let t2 = modified_on(&app, &g).await;
    let r = app.put(&path, &app.admin(), json!([])).await;
    assert!(r.list().is_empty(), "{r}");
    assert_eq!(member_total(&app, &g).await, 0);
    assert!(group_member_ids(&app, &g).await.is_empty());
    assert_moved(&t2, &modified_on(&app, &g).await, "emptied");
}

#[tokio::test]
async fn get_one_member() {
    let app = TestApp::spawn();
    let accepted = app
        .create_member(
            &app.boot.account_id,
            &app.admin(),
            "Zed@Example.com",
            &[ROLE_ADMIN_READ_ONLY],
            Some("accepted"),
        )
        .await;
    let aid = str_field(&accepted, "id");
    let ms = members(&app, "x", 1).await;
    let g = ug(&app, "G").await;
    let before = in_secs(-1);
    app.post(
        &gm_path(&app, &g, ""),
        &app.admin(),
        id_list(&[aid.clone(), ms[0].clone(), app.boot.member_id.clone()]),
    )
    .await
    .ok();
    let after = in_secs(1);

    let r = app
        .get(&gm_path(&app, &g, &format!("/{aid}")), &app.admin())
        .await;
    let m = r.ok().clone();
    assert_eq!(m["id"], json!(aid), "{r}");
    assert_eq!(m["email"], json!("zed@example.com"), "{r}");
    assert_eq!(m["status"], json!("accepted"), "{r}");
    assert_timestamp(&m["created_at"], "created_at");
    let created = str_field(&m, "created_at");
    assert!(
        created.as_str() >= before.as_str() && created.as_str() <= after.as_str(),
        "created_at is when the member was added: {r}"
    );
    let u = &m["user"];
    assert_eq!(u["id"], accepted["user"]["id"], "{r}");
    assert_eq!(u["email"], json!("zed@example.com"), "{r}");
    for k in ["first_name", "last_name"] {
        assert!(
            u.as_object().is_some_and(|o| o.contains_key(k)),
            "user.{k} missing: {r}"
        );
    }
    let r = app
        .get(&gm_path(&app, &g, &format!("/{}", ms[0])), &app.admin())
        .await;
    assert_eq!(r.ok()["status"], json!("pending"), "{r}");
    let r = app
        .get(
            &gm_path(&app, &g, &format!("/{}", app.boot.member_id)),
            &app.admin(),
        )
        .await;
    assert_eq!(r.ok()["email"], json!(app.boot.email), "{r}");
    assert_eq!(r.ok()["user"]["id"], json!(app.boot.user_id), "{r}");

    // A status change in the account shows in the group.
    app.put(
        &app.acct(&format!("/members/{}", ms[0])),
        &app.admin(),
        json!({ "status": "accepted" }),
    )
    .await
    .ok();
    let r = app
        .get(&gm_path(&app, &g, &format!("/{}", ms[0])), &app.admin())
        .await;
    assert_eq!(r.ok()["status"], json!("accepted"), "{r}");

    // Not in the group, unknown, in an unknown group.
    let outside = members(&app, "out", 1).await;
    let r = app
        .get(
            &gm_path(&app, &g, &format!("/{}", outside[0])),
            &app.admin(),
        )
        .await;
    assert_error_mentions(&r, 404, 1003, &[&outside[0]]);
    let r = app
        .get(&gm_path(&app, &g, &format!("/{UNKNOWN_ID}")), &app.admin())
        .await;
    r.err(404, 1003);
    let r = app
        .get(&gm_path(&app, UNKNOWN_ID, &format!("/{aid}")), &app.admin())
        .await;
    r.err(404, 1003);
}

#[tokio::test]
async fn remove_answers_the_removed_member() {
    let app = TestApp::spawn();
    let ms = members(&app, "d", 3).await;
    let g = ug(&app, "G").await;
    app.post(&gm_path(&app, &g, ""), &app.admin(), id_list(&ms))
        .await
        .ok();
    let t0 = modified_on(&app, &g).await;
    let path = gm_path(&app, &g, &format!("/{}", ms[1]));
    let r = app.delete(&path, &app.admin()).await;
    let removed = r.ok().clone();
    check_gm_shape(&removed);
    assert_eq!(removed["id"], json!(ms[1]), "{r}");
    assert_eq!(removed["email"], json!("d01@example.com"), "{r}");
    assert_eq!(removed["status"], json!("pending"), "{r}");
    assert_eq!(member_total(&app, &g).await, 2);
    assert_eq!(
        group_member_ids(&app, &g).await,
        vec![ms[0].clone(), ms[2].clone()]
    );
    let t1 = modified_on(&app, &g).await;
    assert_moved(&t0, &t1, "remove");

    // Again: not in the group.
    let r = app.delete(&path, &app.admin()).await;
    assert_error_mentions(&r, 404, 1003, &[&ms[1]]);
    assert_eq!(member_total(&app, &g).await, 2);
    assert_eq!(
        modified_on(&app, &g).await,
        t1,
        "a refused remove changes nothing"
    );
    let r = app
        .delete(&gm_path(&app, &g, &format!("/{UNKNOWN_ID}")), &app.admin())
        .await;
    r.err(404, 1003);
    let r = app
        .delete(
            &gm_path(&app, UNKNOWN_ID, &format!("/{}", ms[0])),
            &app.admin(),
        )
        .await;
    r.err(404, 1003);

    // Still an account member.
    assert_eq!(member_email(&app, &ms[1]).await, "d01@example.com");
}

#[tokio::test]
async fn list_filters_order_and_pages() {
    let app = TestApp::spawn();
    let mut all = Vec::new();
    for email in [
        "a_b@example.com",
        "axb@example.com",
        "Carol@Example.com",
        "q%r@example.com",
        "q5r@example.com",
        "dave@other.org",
        "erin@example.com",
    ] {
        let m = app
            .create_member(
                &app.boot.account_id,
                &app.admin(),
                email,
                &[ROLE_ADMIN_READ_ONLY],
                None,
            )
            .await;
        all.push((email.to_lowercase(), str_field(&m, "id")));
    }
    all.sort();
    let g = ug(&app, "G").await;
    let ids_all: Vec<String> = all.iter().map(|(_, id)| id.clone()).collect();
    app.post(&gm_path(&app, &g, ""), &app.admin(), id_list(&ids_all))
        .await
        .ok();
    let emails_all: Vec<String> = all.iter().map(|(e, _)| e.clone()).collect();

    let list = |q: &'static str| {
        let app = &app;
        let g = g.clone();
        async move {
            let r = app.get(&gm_path(app, &g, q), &app.admin()).await;
            check_result_info(&r);
            (emails(r.list()), r.info().clone())
        }
    };
    let (e, info) = list("").await;
    assert_eq!(e, emails_all, "by email");
    assert_eq!(info["per_page"], json!(100));
    assert_eq!(info["total_count"], json!(7));
    let (e, _) = list("?direction=desc").await;
    let mut rev = emails_all.clone();
    rev.reverse();
    assert_eq!(e, rev);

    let (e, info) = list("?fuzzyEmail=EXAMPLE.COM").await;
    assert_eq!(e.len(), 6, "case-insensitive substring: {e:?}");
    assert_eq!(info["total_count"], json!(6));
    let (e, info) = list("?fuzzyEmail=_").await;
    assert_eq!(e, vec!["a_b@example.com"], "`_` is literal");
    assert_eq!(info["total_count"], json!(1));
    let (e, _) = list("?fuzzyEmail=%25").await;
    assert_eq!(e, vec!["q%r@example.com"], "`%` is literal");
    let (e, _) = list("?fuzzyEmail=example&direction=desc&per_page=2&page=3").await;
    assert_eq!(
        e,
        vec!["axb@example.com", "a_b@example.com"],
        "filtered late page, desc"
    );
    let (e, _) = list("?fuzzyEmail=nobody").await;
    assert!(e.is_empty());

    // Pages of 3: 3, 3, 1, then empty; late pages exact in both directions.
    let (e, info) = list("?per_page=3&page=3").await;
    assert_eq!(e, emails_all[6..].to_vec());
    assert_eq!(info["total_pages"], json!(3));
    let (e, _) = list("?per_page=3&page=2").await;
    assert_eq!(e, emails_all[3..6].to_vec());
    let (e, _) = list("?per_page=3&page=3&direction=desc").await;
    assert_eq!(e, vec![emails_all[0].clone()]);
    let (e, _) = list("?per_page=3&page=2&direction=desc").await;
    assert_eq!(e, rev[3..6].to_vec());
    let (e, info) = list("?per_page=3&page=4").await;
    assert!(e.is_empty());
    assert_eq!(info["total_count"], json!(7));
    let walked = app.walk(&gm_path(&app, &g, ""), &app.admin(), 2).await;
    assert_eq!(emails(&walked), emails_all);
    let walked = app
        .walk(&gm_path(&app, &g, "?direction=desc"), &app.admin(), 4)
        .await;
    assert_eq!(emails(&walked), rev);

    let (_, info) = list("?per_page=0").await;
    assert_eq!(info["per_page"], json!(1));
    let (_, info) = list("?per_page=9999").await;
    assert_eq!(info["per_page"], json!(500));
    for (q, ptr) in [
        ("?page=0", "/query/page"),
        ("?page=x", "/query/page"),
        ("?direction=up", "/query/direction"),
    ] {
        let r = app.get(&gm_path(&app, &g, q), &app.admin()).await;
        r.validation(ptr);
    }

    // Counts follow removals on late pages.
    app.delete(
        &gm_path(&app, &g, &format!("/{}", ids_all[6])),
        &app.admin(),
    )
    .await
    .ok();
    let (e, info) = list("?per_page=3&page=2").await;
    assert_eq!(e, emails_all[3..6].to_vec());
    assert_eq!(info["total_count"], json!(6));
    assert_eq!(info["total_pages"], json!(2));
    let (e, _) = list("?per_page=3&page=3").await;
    assert!(e.is_empty());
}

#[tokio::test]
async fn totals_follow_every_membership_change() {
    let app = TestApp::spawn();
    let ms = members(&app, "t", 6).await;
    let g = ug(&app, "G").await;
    let p = gm_path(&app, &g, "");
    let check = |want: usize| {
        let app = &app;
        let g = g.clone();
        async move {
            assert_eq!(member_total(app, &g).await, want as u64, "total_count");
            let walked = app.walk(&gm_path(app, &g, ""), &app.admin(), 4).await;
            assert_eq!(walked.len(), want, "members walked");
        }
    };
    check(0).await;
    app.post(&p, &app.admin(), id_list(&ms[..4])).await.ok();
    check(4).await;
    app.post(&p, &app.admin(), id_list(&ms[2..6])).await.ok();
    check(6).await;
    app.put(&p, &app.admin(), id_list(&ms[1..3])).await.ok();
    check(2).await;
    app.put(&p, &app.admin(), id_list(&ms[2..5])).await.ok();
    check(3).await;
    app.delete(&gm_path(&app, &g, &format!("/{}", ms[3])), &app.admin())
        .await
        .ok();
    check(2).await;
    // Account member deletion.
    app.delete(&app.acct(&format!("/members/{}", ms[4])), &app.admin())
        .await
        .ok();
    check(1).await;
    // Deleting a member who is not in the group changes nothing here.
    app.delete(&app.acct(&format!("/members/{}", ms[0])), &app.admin())
        .await
        .ok();
    check(1).await;
    app.put(&p, &app.admin(), json!([])).await.ok();
    check(0).await;
    app.post(&p, &app.admin(), id_list(&ms[1..4])).await.ok();
    check(3).await;
}

#[tokio::test]
async fn account_member_deletion_removes_them_from_every_group() {
    let app = TestApp::spawn();
    let ms = members(&app, "g", 3).await;
    let g1 = ug(&app, "One").await;
    let g2 = ug(&app, "Two").await;
    let g3 = ug(&app, "Three").await;
    app.post(&gm_path(&app, &g1, ""), &app.admin(), id_list(&ms))
        .await
        .ok();
    app.post(&gm_path(&app, &g2, ""), &app.admin(), id_list(&ms[1..2]))
        .await
        .ok();
    app.post(&gm_path(&app, &g3, ""), &app.admin(), id_list(&ms[2..]))
        .await
        .ok();
    let t1 = modified_on(&app, &g1).await;
    let t2 = modified_on(&app, &g2).await;
    let t3 = modified_on(&app, &g3).await;

    let r = app
        .delete(&app.acct(&format!("/members/{}", ms[1])), &app.admin())
        .await;
    r.ok();

    assert_eq!(
        group_member_ids(&app, &g1).await,
        vec![ms[0].clone(), ms[2].clone()]
    );
    assert!(group_member_ids(&app, &g2).await.is_empty());
    assert_eq!(group_member_ids(&app, &g3).await, vec![ms[2].clone()]);
    assert_eq!(member_total(&app, &g1).await, 2);
    assert_eq!(member_total(&app, &g2).await, 0);
    assert_eq!(member_total(&app, &g3).await, 1);
    assert_moved(&t1, &modified_on(&app, &g1).await, "group one");
    assert_moved(&t2, &modified_on(&app, &g2).await, "group two");
    assert_eq!(
        modified_on(&app, &g3).await,
        t3,
        "a group without the member is unchanged"
    );
    let r = app
        .get(&gm_path(&app, &g1, &format!("/{}", ms[1])), &app.admin())
        .await;
    r.err(404, 1003);
    // The id cannot be added back.
    let r = app
        .post(&gm_path(&app, &g1, ""), &app.admin(), id_list(&ms[1..2]))
        .await;
    assert_error_mentions(&r, 404, 1003, &[&ms[1]]);
}

#[tokio::test]
async fn members_of_another_account_are_refused() {
    let app = TestApp::spawn();
    let other = app.create_account("Other").await;
    let cred = app.admin_key();
    let theirs = app
        .create_member(
            &other,
            &cred,
            "x@example.com",
            &[ROLE_ADMIN_READ_ONLY],
            None,
        )
        .await;
    let theirs_id = str_field(&theirs, "id");
    let r = app
        .post(
            &format!("/accounts/{other}/iam/user_groups"),
            &cred,
            json!({ "name": "Their group" }),
        )
        .await;
    let their_group = str_field(r.ok(), "id");
    let r = app
        .post(
            &format!("/accounts/{other}/iam/user_groups/{their_group}/members"),
            &cred,
            json!([{ "id": theirs_id }]),
        )
        .await;
    r.ok();

    let mine = members(&app, "mine", 1).await;
    let g = ug(&app, "Mine").await;
    let r = app
        .post(
            &gm_path(&app, &g, ""),
            &app.admin(),
            id_list(&[mine[0].clone(), theirs_id.clone()]),
        )
        .await;
    assert_error_mentions(&r, 404, 1003, &[&theirs_id]);
    let r = app
        .put(
            &gm_path(&app, &g, ""),
            &app.admin(),
            id_list(std::slice::from_ref(&theirs_id)),
        )
        .await;
    assert_error_mentions(&r, 404, 1003, &[&theirs_id]);
    assert!(group_member_ids(&app, &g).await.is_empty());

    // Their group is not reachable through this account, nor mine through theirs.
    let r = app
        .get(&gm_path(&app, &their_group, ""), &app.admin())
        .await;
    r.err(404, 1003);
    let r = app
        .post(
            &gm_path(&app, &their_group, ""),
            &app.admin(),
            id_list(&mine),
        )
        .await;
    r.err(404, 1003);
    let r = app
        .delete(
            &gm_path(&app, &their_group, &format!("/{theirs_id}")),
            &app.admin(),
        )
        .await;
    r.err(404, 1003);
    let r = app
        .get(
            &format!("/accounts/{other}/iam/user_groups/{their_group}/members"),
            &cred,
        )
        .await;
    assert_eq!(ids(r.list()), vec![theirs_id], "untouched: {r}");
}
