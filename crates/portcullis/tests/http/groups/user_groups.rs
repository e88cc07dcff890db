//! User groups (api.md §5 "User groups", api-decisions.md "User groups and their members").

use serde_json::{json, Value};

use super::support::*;
use crate::helpers::*;

fn check_ug_shape(g: &Value) {
    assert_id(&g["id"], "user_group.id");
    assert!(g["name"].is_string(), "name: {g}");
    assert_timestamp(&g["created_on"], "user_group.created_on");
    assert_timestamp(&g["modified_on"], "user_group.modified_on");
    let policies = g["policies"]
        .as_array()
        .unwrap_or_else(|| panic!("policies must be an array: {g}"));
    for p in policies {
        assert_id(&p["id"], "policy.id");
        assert!(
            p["access"] == json!("allow") || p["access"] == json!("deny"),
            "{g}"
        );
        for pg in p["permission_groups"].as_array().into_iter().flatten() {
            assert_id(&pg["id"], "permission_group.id");
            assert!(pg["name"].is_string(), "permission group name: {g}");
            assert!(pg["meta"].is_object(), "permission group meta: {g}");
        }
        for rg in p["resource_groups"].as_array().into_iter().flatten() {
            assert_id(&rg["id"], "resource_group.id");
            assert!(rg["name"].is_string(), "{g}");
            assert!(rg["scope"].is_array(), "resource group scope: {g}");
            assert!(rg["meta"].is_object(), "resource group meta: {g}");
        }
    }
}

fn pg_ids(p: &Value) -> Vec<String> {
    ids(p["permission_groups"]
        .as_array()
        .expect("permission_groups"))
}

fn rg_ids(p: &Value) -> Vec<String> {
    ids(p["resource_groups"].as_array().expect("resource_groups"))
}

#[tokio::test]
async fn create_without_policies() {
    let app = TestApp::spawn();
    let r = app
        .post(
            &ug_path(&app, ""),
            &app.admin(),
            json!({ "name": "  Plain  " }),
        )
        .await;
    let g = r.ok().clone();
    check_ug_shape(&g);
    assert_eq!(g["name"], json!("Plain"), "trimmed: {r}");
    assert_eq!(g["policies"], json!([]), "{r}");
    assert!(g["modified_on"].as_str() >= g["created_on"].as_str(), "{r}");
    let r = app
        .get(
            &ug_path(&app, &format!("/{}", str_field(&g, "id"))),
            &app.admin(),
        )
        .await;
    assert_eq!(r.ok(), &g, "{r}");
    // An explicit empty list is the same.
    let g2 = create_ug(&app, "Empty", Some(json!([]))).await;
    assert_eq!(g2["policies"], json!([]));
}

#[tokio::test]
async fn create_with_policies_expands_them_in_the_order_written() {
    let app = TestApp::spawn();
    let all = create_rg(&app, "All", &["*"]).await;
    let zones = create_rg(&app, "Zones", &[zone(2), zone(1)]).await;
    let all_id = str_field(&all, "id");
    let zones_id = str_field(&zones, "id");
    let policies = json!([
        policy(
            "deny",
            &[PG_ZONE_READ, PG_BOT_MANAGEMENT],
            &[&zones_id, &all_id]
        ),
        policy("allow", &[PG_ADMINISTRATOR], &[&all_id]),
        policy(
            "allow",
            &[PG_BOT_MANAGEMENT, PG_ZONE_READ],
            &[&all_id, &zones_id]
        ),
    ]);
    let g = create_ug(&app, "Eng", Some(policies)).await;
    check_ug_shape(&g);
    let ps = g["policies"].as_array().expect("policies").clone();
    assert_eq!(ps.len(), 3, "{g}");
    assert_eq!(ps[0]["access"], json!("deny"));
    assert_eq!(ps[1]["access"], json!("allow"));
    assert_eq!(pg_ids(&ps[0]), vec![PG_ZONE_READ, PG_BOT_MANAGEMENT]);
    assert_eq!(pg_ids(&ps[2]), vec![PG_BOT_MANAGEMENT, PG_ZONE_READ]);
    assert_eq!(rg_ids(&ps[0]), vec![zones_id.clone(), all_id.clone()]);
    assert_eq!(rg_ids(&ps[2]), vec![all_id.clone(), zones_id.clone()]);
    let distinct: std::collections::HashSet<String> = policy_ids(&g).into_iter().collect();
    assert_eq!(distinct.len(), 3, "policy ids are distinct: {g}");

    // Expansion: permission groups {id, name, meta}, resource groups as GET shows them.
    assert_eq!(
        ps[0]["permission_groups"][0]["name"],
        json!("Zone Read"),
        "{g}"
    );
    assert_eq!(
        ps[0]["permission_groups"][1]["name"],
        json!("Bot Management"),
        "{g}"
    );
    assert_eq!(
        ps[1]["permission_groups"][0]["name"],
        json!("Administrator"),
        "{g}"
    );
    assert_eq!(
        ps[0]["resource_groups"][0], zones,
        "expanded resource group: {g}"
    );
    assert_eq!(ps[0]["resource_groups"][1], all, "{g}");

    // Identical on every read: GET, list, list filtered by id.
    let gid = str_field(&g, "id");
    let r = app
        .get(&ug_path(&app, &format!("/{gid}")), &app.admin())
        .await;
    assert_eq!(r.ok(), &g, "GET equals the create response: {r}");
    let r = app.get(&ug_path(&app, ""), &app.admin()).await;
    assert_eq!(r.list(), &vec![g.clone()], "{r}");
    let r = app
        .get(&ug_path(&app, &format!("?id={gid}")), &app.admin())
        .await;
    assert_eq!(r.list(), &vec![g.clone()], "{r}");

    // A resource-group rename shows up in the expansion.
    let r = app
        .put(
            &rg_path(&app, &format!("/{all_id}")),
            &app.admin(),
            json!({ "name": "Everything" }),
        )
        .await;
    r.ok();
    let r = app
        .get(&ug_path(&app, &format!("/{gid}")), &app.admin())
        .await;
    assert_eq!(
        r.ok()["policies"][1]["resource_groups"][0]["name"],
        json!("Everything"),
        "{r}"
    );
}

#[tokio::test]
async fn name_is_1_to_255_and_unique_regardless_of_case() {
    let app = TestApp::spawn();
    for bad in [String::new(), "  \t ".to_string(), "x".repeat(256)] {
        let r = app
            .post(&ug_path(&app, ""), &app.admin(), json!({ "name": bad }))
            .await;
        assert_only_pointer(&r, "/name");
    }
    let r = app.post(&ug_path(&app, ""), &app.admin(), json!({})).await;
    r.validation("/name");
    let r = app
        .post(&ug_path(&app, ""), &app.admin(), json!({ "name": 7 }))
        .await;
    r.validation("/name");
    let long = "ü".repeat(255);
    let g = create_ug(&app, &long, None).await;
    assert_eq!(g["name"], json!(long));
    let padded = format!("  {}  ", "y".repeat(255));
    let g = create_ug(&app, &padded, None).await;
    assert_eq!(
        g["name"],
        json!("y".repeat(255)),
        "trimmed before the length check"
    );

    let eng = create_ug(&app, "Engineering", None).await;
    let eng_id = str_field(&eng, "id");
    for clash in [
        "Engineering",
        "ENGINEERING",
        "engineering",
        "  engineering ",
    ] {
        let r = app
            .post(&ug_path(&app, ""), &app.admin(), json!({ "name": clash }))
            .await;
        assert_error_mentions(&r, 409, 1002, &["Engineering"]);
        assert_eq!(r.header("x-should-retry").as_deref(), Some("false"), "{r}");
    }

    // Rename onto an existing name (any case) is a conflict; renaming to itself in another case is not.
    let ops = create_ug(&app, "Ops", None).await;
    let ops_path = ug_path(&app, &format!("/{}", str_field(&ops, "id")));
    let r = app
        .put(&ops_path, &app.admin(), json!({ "name": "engineering" }))
        .await;
    assert_error_mentions(&r, 409, 1002, &["Engineering"]);
    assert_eq!(r.header("x-should-retry").as_deref(), Some("false"), "{r}");
    let r = app
        .put(&ops_path, &app.admin(), json!({ "name": "OPS" }))
        .await;
    assert_eq!(r.ok()["name"], json!("OPS"), "{r}");
    let r = app
        .put(&ops_path, &app.admin(), json!({ "name": "" }))
        .await;
    assert_only_pointer(&r, "/name");
    let r = app
        .put(&ops_path, &app.admin(), json!({ "name": "z".repeat(256) }))
        .await;
    assert_only_pointer(&r, "/name");
    let r = app.get(&ops_path, &app.admin()).await;
    assert_eq!(r.ok()["name"], json!("OPS"), "{r}");

    // After deleting, the name is free again.
    app.delete(&ug_path(&app, &format!("/{eng_id}")), &app.admin())
        .await
        .ok();
    create_ug(&app, "engineering", None).await;

    // The same name in another account is fine.
    let other = app.create_account("Other").await;
    let r = app
        .post(
            &format!("/accounts/{other}/iam/user_groups"),
            &app.admin_key(),
            json!({ "name": "OPS" }),
        )
        .await;
    assert_eq!(r.ok()["name"], json!("OPS"), "{r}");
}

#[tokio::test]
async fn update_is_partial_and_keeps_named_policy_ids() {
    let app = TestApp::spawn();
    let all = rg_all(&app, "All").await;
    let zones = rg_zones(&app, "Zones").await;
    let g = create_ug(
        &app,
        "Team",
        Some(json!([
            policy("allow", &[PG_ADMINISTRATOR], &[&all]),
            policy("deny", &[PG_ZONE_READ], &[&zones]),
        ])),
    )
    .await;
    let gid = str_field(&g, "id");
    let path = ug_path(&app, &format!("/{gid}"));
    let [p1, p2]: [String; 2] = policy_ids(&g).try_into().expect("two policies");

    // `{}`: unchanged.
    let r = app.put(&path, &app.admin(), json!({})).await;
    assert_eq!(r.ok(), &g, "{r}");

    // Name only: policies (and their ids) kept; modified_on moves.
    let r = app
        .put(&path, &app.admin(), json!({ "name": "Team 2" }))
        .await;
    let renamed = r.ok().clone();
    assert_eq!(renamed["name"], json!("Team 2"));
    assert_eq!(renamed["policies"], g["policies"], "policies kept: {r}");
    assert_eq!(renamed["created_on"], g["created_on"], "{r}");
    assert_moved(
        g["modified_on"].as_str().unwrap_or_default(),
        renamed["modified_on"].as_str().unwrap_or_default(),
        "rename",
    );

    // Policies replace the set: p2 kept (changed), p1 dropped, one new.
    let r = app
        .put(
            &path,
            &app.admin(),
            json!({ "policies": [
                policy("allow", &[PG_BOT_MANAGEMENT], &[&zones]),
                {
                    "id": p2,
                    "access": "allow",
                    "permission_groups": [{ "id": PG_ZONE_READ }, { "id": PG_ADMINISTRATOR }],
                    "resource_groups": [{ "id": all }],
                },
            ] }),
        )
        .await;
    let replaced = r.ok().clone();
    check_ug_shape(&replaced);
    assert_eq!(replaced["name"], json!("Team 2"), "name unchanged: {r}");
    let now_ids = policy_ids(&replaced);
    assert_eq!(now_ids.len(), 2, "{r}");
    assert_eq!(now_ids[1], p2, "named policy keeps its id: {r}");
    assert!(
        now_ids[0] != p1 && now_ids[0] != p2,
        "new policy, new id: {r}"
    );
    assert_eq!(replaced["policies"][1]["access"], json!("allow"), "{r}");
    assert_eq!(
        pg_ids(&replaced["policies"][1]),
        vec![PG_ZONE_READ, PG_ADMINISTRATOR],
        "{r}"
    );
    assert_moved(
        renamed["modified_on"].as_str().unwrap_or_default(),
        replaced["modified_on"].as_str().unwrap_or_default(),
        "policies replaced",
    );
    let r = app.get(&path, &app.admin()).await;
    assert_eq!(r.ok(), &replaced, "GET equals the PUT response: {r}");

    // An id that is not one of this group's policies (unknown, dropped, or another group's).
    let other = create_ug(
        &app,
        "Other",
        Some(json!([policy("allow", &[PG_ADMINISTRATOR], &[&all])])),
    )
    .await;
    let foreign = policy_ids(&other)[0].clone();
    for bad in [
        UNKNOWN_ID.to_string(),
        p1.clone(),
        foreign.clone(),
        "nope".to_string(),
    ] {
        let mut p = policy("allow", &[PG_ADMINISTRATOR], &[&all]);
        p["id"] = json!(bad);
        let r = app
            .put(
                &path,
                &app.admin(),
                json!({ "policies": [policy("allow", &[PG_ADMINISTRATOR], &[&all]), p] }),
            )
            .await;
        assert_only_pointer(&r, "/policies/1/id");
    }
    // The same kept id twice.
    let mut a = policy("allow", &[PG_ADMINISTRATOR], &[&all]);
    a["id"] = json!(p2);
    let r = app
        .put(&path, &app.admin(), json!({ "policies": [a.clone(), a] }))
        .await;
    r.validation("/policies/1/id");
    let r = app.get(&path, &app.admin()).await;
    assert_eq!(r.ok(), &replaced, "failed updates change nothing: {r}");
    let r = app
        .get(
            &ug_path(&app, &format!("/{}", str_field(&other, "id"))),
            &app.admin(),
        )
        .await;
    assert_eq!(r.ok(), &other, "the other group is untouched: {r}");

    // `policies: []` removes them all.
    let r = app
        .put(&path, &app.admin(), json!({ "policies": [] }))
        .await;
    assert_eq!(r.ok()["policies"], json!([]), "{r}");
    assert_eq!(r.ok()["name"], json!("Team 2"), "{r}");
}

#[tokio::test]
async fn list_filters() {
    let app = TestApp::spawn();
    let group_names = [
        "Alpha team",
        "alphabet",
        "Beta_Team",
        "betaXteam",
        "100% Ops",
        "1000 Ops",
        "Gamma",
    ];
    let mut by_name = std::collections::HashMap::new();
    for n in group_names {
        by_name.insert(n, ug(&app, n).await);
    }
    let get_names = |q: String| {
        let app = &app;
        async move {
            let r = app.get(&ug_path(app, &q), &app.admin()).await;
            check_result_info(&r);
            names(r.list())
        }
    };

    let all = get_names(String::new()).await;
    assert_eq!(
        all,
        vec![
            "100% Ops",
            "1000 Ops",
            "Alpha team",
            "alphabet",
            "Beta_Team",
            "betaXteam",
            "Gamma"
        ],
        "ascending by name, case-insensitively"
    );
    let mut rev = all.clone();
    rev.reverse();
    assert_eq!(get_names("?direction=desc".into()).await, rev);
    assert_eq!(get_names("?direction=asc".into()).await, all);

    // name: exact, case-insensitive.
    assert_eq!(get_names("?name=ALPHABET".into()).await, vec!["alphabet"]);
    assert_eq!(
        get_names("?name=alpha%20TEAM".into()).await,
        vec!["Alpha team"]
    );
    assert_eq!(
        get_names("?name=alpha+team".into()).await,
        vec!["Alpha team"]
    );
    assert!(get_names("?name=Alph".into()).await.is_empty());

    // fuzzyName: case-insensitive substring; `%` and `_` are literal.
    assert_eq!(
        get_names("?fuzzyName=ALPHA".into()).await,
        vec!["Alpha team", "alphabet"]
    );
    assert_eq!(
        get_names("?fuzzyName=team".into()).await,
        vec!["Alpha team", "Beta_Team", "betaXteam"]
    );
    assert_eq!(get_names("?fuzzyName=_".into()).await, vec!["Beta_Team"]);
    assert_eq!(get_names("?fuzzyName=a_t".into()).await, vec!["Beta_Team"]);
    assert_eq!(get_names("?fuzzyName=%25".into()).await, vec!["100% Ops"]);
    assert_eq!(get_names("?fuzzyName=0%25".into()).await, vec!["100% Ops"]);
    assert!(get_names("?fuzzyName=zzz".into()).await.is_empty());
    assert_eq!(
        get_names("?fuzzyName=team&direction=desc".into()).await,
        vec!["betaXteam", "Beta_Team", "Alpha team"]
    );

    // id, and combinations.
    let beta = by_name["Beta_Team"].clone();
    assert_eq!(get_names(format!("?id={beta}")).await, vec!["Beta_Team"]);
    assert!(get_names(format!("?id={beta}&fuzzyName=alpha"))
        .await
        .is_empty());
    assert!(get_names(format!("?id={UNKNOWN_ID}")).await.is_empty());

    // total_count reflects the filters.
    let r = app
        .get(&ug_path(&app, "?fuzzyName=team&per_page=2"), &app.admin())
        .await;
    check_result_info(&r);
    assert_eq!(r.info()["total_count"], json!(3), "{r}");
    assert_eq!(r.info()["total_pages"], json!(2), "{r}");
    assert_eq!(names(r.list()), vec!["Alpha team", "Beta_Team"], "{r}");
    let r = app
        .get(
            &ug_path(&app, "?fuzzyName=team&per_page=2&page=2"),
            &app.admin(),
        )
        .await;
    assert_eq!(names(r.list()), vec!["betaXteam"], "{r}");
    assert_eq!(r.info()["total_count"], json!(3), "{r}");
}

#[tokio::test]
async fn list_paging_parameters() {
    let app = TestApp::spawn();
    for i in 0..5 {
        ug(&app, &format!("g{i}")).await;
    }
    let r = app.get(&ug_path(&app, ""), &app.admin()).await;
    check_result_info(&r);
    assert_eq!(
        r.info(),
        &json!({ "page": 1, "per_page": 100, "count": 5, "total_count": 5, "total_pages": 1 }),
        "defaults: {r}"
    );
    let r = app.get(&ug_path(&app, "?per_page=0"), &app.admin()).await;
    assert_eq!(r.info()["per_page"], json!(1), "clamped up to 1: {r}");
    assert_eq!(names(r.list()), vec!["g0"], "{r}");
    let r = app
        .get(&ug_path(&app, "?per_page=1000"), &app.admin())
        .await;
    assert_eq!(r.info()["per_page"], json!(500), "clamped down to 500: {r}");
    assert_eq!(r.list().len(), 5, "{r}");
    let r = app
        .get(&ug_path(&app, "?per_page=2&page=3"), &app.admin())
        .await;
    check_result_info(&r);
    assert_eq!(names(r.list()), vec!["g4"], "{r}");
    assert_eq!(r.info()["total_pages"], json!(3), "{r}");
    let r = app
        .get(&ug_path(&app, "?per_page=2&page=2.0"), &app.admin())
        .await;
    assert_eq!(names(r.list()), vec!["g2", "g3"], "page=2.0 is page 2: {r}");
    let r = app
        .get(&ug_path(&app, "?per_page=2&page=4"), &app.admin())
        .await;
    assert!(r.list().is_empty(), "past the end: {r}");
    assert_eq!(r.info()["count"], json!(0), "{r}");
    assert_eq!(r.info()["total_count"], json!(5), "{r}");
    let r = app
        .get(&ug_path(&app, "?page=99999&direction=desc"), &app.admin())
        .await;
    assert!(r.list().is_empty(), "{r}");

    for (q, ptr) in [
        ("?page=0", "/query/page"),
        ("?page=-1", "/query/page"),
        ("?page=abc", "/query/page"),
        ("?per_page=lots", "/query/per_page"),
        ("?direction=sideways", "/query/direction"),
    ] {
        let r = app.get(&ug_path(&app, q), &app.admin()).await;
        r.validation(ptr);
    }
    // Unknown query parameters are ignored.
    let r = app.get(&ug_path(&app, "?colour=blue"), &app.admin()).await;
    assert_eq!(r.list().len(), 5, "{r}");
}

#[tokio::test]
async fn delete_removes_the_group_and_its_memberships() {
    let app = TestApp::spawn();
    let ms = members(&app, "del", 3).await;
    let keep = ug(&app, "Keep").await;
    let doomed = ug(&app, "Doomed").await;
    for g in [&keep, &doomed] {
        app.post(&gm_path(&app, g, ""), &app.admin(), id_list(&ms))
            .await
            .ok();
    }
    let r = app.get(&ug_path(&app, ""), &app.admin()).await;
    assert_eq!(r.info()["total_count"], json!(2), "{r}");

    let path = ug_path(&app, &format!("/{doomed}"));
    let r = app.delete(&path, &app.admin()).await;
    assert_eq!(r.ok(), &json!({ "id": doomed }), "{r}");
    let r = app.get(&path, &app.admin()).await;
    assert_error_mentions(&r, 404, 1003, &[&doomed]);
    let r = app.delete(&path, &app.admin()).await;
    r.err(404, 1003);
    let r = app.put(&path, &app.admin(), json!({ "name": "x" })).await;
    r.err(404, 1003);
    let r = app.get(&gm_path(&app, &doomed, ""), &app.admin()).await;
    assert_error_mentions(&r, 404, 1003, &[&doomed]);
    let r = app
        .get(
            &gm_path(&app, &doomed, &format!("/{}", ms[0])),
            &app.admin(),
        )
        .await;
    r.err(404, 1003);
    let r = app
        .post(&gm_path(&app, &doomed, ""), &app.admin(), id_list(&ms))
        .await;
    r.err(404, 1003);

    let r = app.get(&ug_path(&app, ""), &app.admin()).await;
    assert_eq!(ids(r.list()), vec![keep.clone()], "{r}");
    assert_eq!(r.info()["total_count"], json!(1), "{r}");
    assert_eq!(
        group_member_ids(&app, &keep).await,
        ms,
        "the other group keeps its members"
    );
    assert_eq!(member_total(&app, &keep).await, 3);

    // The members themselves still exist.
    for m in &ms {
        app.get(&app.acct(&format!("/members/{m}")), &app.admin())
            .await
            .ok();
    }
}

#[tokio::test]
async fn unknown_and_malformed_ids() {
    let app = TestApp::spawn();
    let unknown = ug_path(&app, &format!("/{UNKNOWN_ID}"));
    let r = app.get(&unknown, &app.admin()).await;
    assert_error_mentions(&r, 404, 1003, &[UNKNOWN_ID]);
    app.put(&unknown, &app.admin(), json!({ "name": "x" }))
        .await
        .err(404, 1003);
    app.put(&unknown, &app.admin(), json!({}))
        .await
        .err(404, 1003);
    app.delete(&unknown, &app.admin()).await.err(404, 1003);

    for bad in [
        "not-an-id",
        "0123456789ABCDEF0123456789ABCDEF",
        "0123456789abcdef0123456789abcdef0",
    ] {
        let p = ug_path(&app, &format!("/{bad}"));
        app.get(&p, &app.admin()).await.err(400, 7003);
        app.put(&p, &app.admin(), json!({})).await.err(400, 7003);
        app.delete(&p, &app.admin()).await.err(400, 7003);
        let p = gm_path(&app, bad, "");
        app.get(&p, &app.admin()).await.err(400, 7003);
        app.post(&p, &app.admin(), json!([])).await.err(400, 7003);
        app.put(&p, &app.admin(), json!([])).await.err(400, 7003);
    }
    let g = ug(&app, "G").await;
    for bad in ["xyz", "ABCDEF0123456789abcdef0123456789"] {
        let p = gm_path(&app, &g, &format!("/{bad}"));
        app.get(&p, &app.admin()).await.err(400, 7003);
        app.delete(&p, &app.admin()).await.err(400, 7003);
    }
}

#[tokio::test]
async fn groups_are_confined_to_their_account() {
    let app = TestApp::spawn();
    let other = app.create_account("Other").await;
    let mine = ug(&app, "Mine").await;
    let cred = app.admin_key();
    let r = app
        .get(&format!("/accounts/{other}/iam/user_groups/{mine}"), &cred)
        .await;
    r.err(404, 1003);
    let r = app
        .delete(&format!("/accounts/{other}/iam/user_groups/{mine}"), &cred)
        .await;
    r.err(404, 1003);
    let r = app
        .get(&format!("/accounts/{other}/iam/user_groups"), &cred)
        .await;
    assert!(r.list().is_empty(), "{r}");
    assert_eq!(r.info()["total_count"], json!(0), "{r}");
    let r = app
        .get(&ug_path(&app, &format!("/{mine}")), &app.admin())
        .await;
    assert_eq!(r.ok()["name"], json!("Mine"), "{r}");
}

#[tokio::test]
async fn case_folding_covers_non_ascii_names_and_backslash_is_literal() {
    let app = TestApp::spawn();
    let g = create_ug(&app, "Équipe Ünï", None).await;
    let r = app
        .post(
            &ug_path(&app, ""),
            &app.admin(),
            json!({ "name": "éQUIPE üNÏ" }),
        )
        .await;
    assert_error_mentions(&r, 409, 1002, &["Équipe Ünï"]);
    // `?name=ÉQUIPE ÜNÏ`, percent-encoded.
    let r = app
        .get(
            &ug_path(&app, "?name=%C3%89QUIPE%20%C3%9CN%C3%8F"),
            &app.admin(),
        )
        .await;
    assert_eq!(ids(r.list()), vec![str_field(&g, "id")], "{r}");
    let r = app
        .get(&ug_path(&app, "?fuzzyName=%C3%BCn%C3%AF"), &app.admin())
        .await;
    assert_eq!(ids(r.list()), vec![str_field(&g, "id")], "{r}");

    let back = ug(&app, "back\\slash").await;
    ug(&app, "backslash").await;
    let r = app
        .get(&ug_path(&app, "?fuzzyName=%5C"), &app.admin())
        .await;
    assert_eq!(ids(r.list()), vec![back.clone()], "{r}");
    let r = app
        .get(&ug_path(&app, "?fuzzyName=k%5Cs"), &app.admin())
        .await;
    assert_eq!(ids(r.list()), vec![back], "{r}");
}
