//! A larger user-group list: pages near the end are read backwards by the server (see the SQLite
//! store's `page_plan`), so their content is checked item by item against the expected order.

use serde_json::{json, Value};

use super::support::*;
use crate::helpers::*;

const N: usize = 250;

/// Names whose case-insensitive order is their index, with mixed case so that a case-sensitive
/// sort would differ.
fn name(i: usize) -> String {
    let initial = if i.is_multiple_of(3) { "G" } else { "g" };
    format!("{initial}roup {i:03}")
}

async fn page(app: &TestApp, query: &str) -> (Vec<String>, Value) {
    let r = app.get(&ug_path(app, query), &app.admin()).await;
    check_result_info(&r);
    (names(r.list()), r.info().clone())
}

fn expected(range: impl Iterator<Item = usize>) -> Vec<String> {
    range.map(name).collect()
}

#[tokio::test]
async fn two_hundred_fifty_groups_page_exactly_in_both_directions() {
    let app = TestApp::spawn();
    // Created in a scrambled order (97 is coprime with 250).
    for k in 0..N {
        let i = (k * 97) % N;
        ug(&app, &name(i)).await;
    }
    let all_asc = expected(0..N);
    let all_desc = expected((0..N).rev());

    // Ascending, 100 per page.
    let (p1, info) = page(&app, "?per_page=100&page=1").await;
    assert_eq!(
        info,
        json!({ "page": 1, "per_page": 100, "count": 100, "total_count": N, "total_pages": 3 })
    );
    assert_eq!(p1, all_asc[..100].to_vec());
    let (p2, _) = page(&app, "?per_page=100&page=2").await;
    assert_eq!(p2, all_asc[100..200].to_vec());
    let (p3, info) = page(&app, "?per_page=100&page=3").await;
    assert_eq!(info["count"], json!(50));
    assert_eq!(info["total_count"], json!(N));
    assert_eq!(p3, all_asc[200..].to_vec(), "page 3 exactly, in order");
    let (p4, info) = page(&app, "?per_page=100&page=4").await;
    assert!(p4.is_empty());
    assert_eq!(info["total_count"], json!(N));
    let union: Vec<String> = [p1, p2, p3].concat();
    assert_eq!(
        union, all_asc,
        "the pages together are every group, in name order"
    );

    // Descending.
    let (d1, _) = page(&app, "?per_page=100&page=1&direction=desc").await;
    assert_eq!(d1, all_desc[..100].to_vec());
    let (d2, _) = page(&app, "?per_page=100&page=2&direction=desc").await;
    assert_eq!(d2, all_desc[100..200].to_vec());
    let (d3, info) = page(&app, "?per_page=100&page=3&direction=desc").await;
    assert_eq!(info["count"], json!(50));
    assert_eq!(
        d3,
        all_desc[200..].to_vec(),
        "desc page 3 exactly, in order"
    );
    let (d4, _) = page(&app, "?per_page=100&page=4&direction=desc").await;
    assert!(d4.is_empty());
    assert_eq!([d1, d2, d3].concat(), all_desc);

    // The default page size is 100; per_page 500 returns everything at once.
    let (dflt, info) = page(&app, "").await;
    assert_eq!(info["per_page"], json!(100));
    assert_eq!(dflt, all_asc[..100].to_vec());
    let (dflt3, _) = page(&app, "?page=3").await;
    assert_eq!(dflt3, all_asc[200..].to_vec());
    let (everything, info) = page(&app, "?per_page=500").await;
    assert_eq!(everything, all_asc);
    assert_eq!(info["total_pages"], json!(1));

    // Odd page sizes, every page in the second half read exactly.
    for per_page in [7usize, 33, 99, 124, 126, 249] {
        let pages = N.div_ceil(per_page);
        for p in 1..=pages + 1 {
            let (got, info) = page(&app, &format!("?per_page={per_page}&page={p}")).await;
            let from = ((p - 1) * per_page).min(N);
            let to = (p * per_page).min(N);
            assert_eq!(
                got,
                all_asc[from..to].to_vec(),
                "asc per_page={per_page} page={p}"
            );
            assert_eq!(info["total_pages"], json!(pages));
            let (got, _) = page(
                &app,
                &format!("?per_page={per_page}&page={p}&direction=desc"),
            )
            .await;
            assert_eq!(
                got,
                all_desc[from..to].to_vec(),
                "desc per_page={per_page} page={p}"
            );
        }
    }

    // A filtered list: its own total drives the late pages (fuzzyName "roup 1" = 100..=199).
    let sub_asc = expected(100..200);
    for p in 1..=5usize {
        let (got, info) = page(&app, &format!("?fuzzyName=ROUP%201&per_page=30&page={p}")).await;
        let from = ((p - 1) * 30).min(100);
        let to = (p * 30).min(100);
        assert_eq!(got, sub_asc[from..to].to_vec(), "filtered page {p}");
        assert_eq!(info["total_count"], json!(100));
        assert_eq!(info["total_pages"], json!(4));
    }
    let sub_desc = expected((100..200).rev());
    let (got, _) = page(&app, "?fuzzyName=roup+1&per_page=30&page=4&direction=desc").await;
    assert_eq!(got, sub_desc[90..].to_vec(), "filtered desc last page");
    let (got, _) = page(&app, "?fuzzyName=roup+1&per_page=30&page=3&direction=desc").await;
    assert_eq!(got, sub_desc[60..90].to_vec(), "filtered desc page 3");

    // After deleting some groups the counter and late pages follow.
    let (victims, _) = page(&app, "?per_page=10&page=25").await;
    assert_eq!(victims, all_asc[240..].to_vec());
    let r = app
        .get(&ug_path(&app, "?per_page=10&page=25"), &app.admin())
        .await;
    for id in ids(r.list()) {
        app.delete(&ug_path(&app, &format!("/{id}")), &app.admin())
            .await
            .ok();
    }
    let (p3, info) = page(&app, "?per_page=100&page=3").await;
    assert_eq!(info["total_count"], json!(N - 10));
    assert_eq!(p3, all_asc[200..240].to_vec());
    let (d3, _) = page(&app, "?per_page=100&page=3&direction=desc").await;
    assert_eq!(d3, expected((0..40).rev()));
    let walked = app.walk(&ug_path(&app, ""), &app.admin(), 100).await;
    assert_eq!(names(&walked), all_asc[..240].to_vec());
}

#[tokio::test]
async fn a_large_group_pages_its_members_exactly() {
    let app = TestApp::spawn();
    let ms = members(&app, "big", 45).await;
    let g = ug(&app, "Big").await;
    app.post(&gm_path(&app, &g, ""), &app.admin(), id_list(&ms))
        .await
        .ok();
    let mut rev = ms.clone();
    rev.reverse();
    for per_page in [4usize, 10, 20, 44] {
        let pages = ms.len().div_ceil(per_page);
        for p in 1..=pages + 1 {
            let from = ((p - 1) * per_page).min(ms.len());
            let to = (p * per_page).min(ms.len());
            for (dir, want) in [("asc", &ms), ("desc", &rev)] {
                let r = app
                    .get(
                        &gm_path(
                            &app,
                            &g,
                            &format!("?per_page={per_page}&page={p}&direction={dir}"),
                        ),
                        &app.admin(),
                    )
                    .await;
                check_result_info(&r);
                assert_eq!(ids(r.list()), want[from..to].to_vec(), "{r}");
                assert_eq!(r.info()["total_count"], json!(45), "{r}");
            }
        }
    }
}
