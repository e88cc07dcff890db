//! `email_domain` validation and normalization, and body type errors (api-decisions.md "SSO
//! connectors": trimmed, a trailing dot dropped, IDNA → punycode, lower-cased; 2+ labels of
//! 1..63 `[a-z0-9-]` without leading/trailing `-`, at most 253 characters, last label not numeric;
//! otherwise 400/1001 pointer `/email_domain`).

use serde_json::json;

use super::support::*;

/// Domains that are not valid are 400/1001 pointer `/email_domain`, and nothing is created.
#[tokio::test]
async fn invalid_domains_are_400_1001() {
    let app = SsoApp::spawn(SsoOpts::new(1, 600));
    let long_label = format!("{}.com", "a".repeat(64));
    // 254 characters: 63 + 1 + 63 + 1 + 63 + 1 + 62.
    let too_long = format!(
        "{}.{}.{}.{}",
        "a".repeat(63),
        "b".repeat(63),
        "c".repeat(63),
        "d".repeat(62)
    );
    assert_eq!(too_long.len(), 254);
    let bad: Vec<String> = [
        "",
        "   ",
        ".",
        "localhost",
        "example",
        "-a.com",
        "a-.com",
        "a..com",
        ".example.com",
        "a_b.com",
        "_dmarc.example.com",
        "exa mple.com",
        "ex@mple.com",
        "example.com/path",
        "1.2.3.4",
        "example.123",
        "user@example.com",
        "http://example.com",
        &long_label,
        &too_long,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for d in &bad {
        for begin in [Some(false), None] {
            let r = app.create_sso(d, begin).await;
            r.validation("/email_domain");
        }
    }
    assert!(app.list_sso().await.is_empty(), "nothing was created");
}

/// "A trailing dot dropped" (singular): two trailing dots leave an empty label.
#[tokio::test]
async fn two_trailing_dots_are_400_1001() {
    let app = SsoApp::spawn(SsoOpts::new(1, 600));
    let r = app.create_sso("example.com..", Some(false)).await;
    r.validation("/email_domain");
}

/// Valid domains are stored and returned normalized; differently spelled duplicates conflict.
#[tokio::test]
async fn domains_are_normalized() {
    let app = SsoApp::spawn(SsoOpts::new(1, 600));
    let max_len = format!(
        "{}.{}.{}.{}",
        "a".repeat(63),
        "b".repeat(63),
        "c".repeat(63),
        "d".repeat(61)
    );
    assert_eq!(max_len.len(), 253);
    let label63 = format!("{}.example", "x".repeat(63));
    let cases: Vec<(String, String)> = vec![
        ("Bücher.Example.".into(), "xn--bcher-kva.example".into()),
        ("  Example.COM  ".into(), "example.com".into()),
        ("\texample.net\n".into(), "example.net".into()),
        ("例え.テスト".into(), "xn--r8jz45g.xn--zckzah".into()),
        ("a-b.example.org".into(), "a-b.example.org".into()),
        ("123.example.com".into(), "123.example.com".into()),
        ("xn--d1acufc.xn--p1ai".into(), "xn--d1acufc.xn--p1ai".into()),
        (label63.clone(), label63),
        (max_len.clone(), max_len.clone()),
        // 253 characters once the trailing dot is dropped.
        (
            format!("{}.", max_len.replace('a', "e")),
            max_len.replace('a', "e"),
        ),
    ];
    for (raw, want) in &cases {
        let c = app.create_ok(raw, Some(false)).await;
        assert_eq!(c["email_domain"], json!(want), "`{raw}` → {c}");
        assert_eq!(
            app.get_sso(&id(&c)).await["email_domain"],
            json!(want),
            "stored normalized"
        );
    }
    // With begin_verification (a DNS lookup of the normalized name; NXDOMAIN → pending).
    let c = app.create_ok("MÜNCHEN.example", None).await;
    assert_eq!(c["email_domain"], json!("xn--mnchen-3ya.example"), "{c}");
    assert_eq!(status(&c), "pending", "{c}");

    // The normalized form decides uniqueness.
    for dup in [
        "xn--bcher-kva.example",
        "BÜCHER.example",
        "bücher.example.",
        "EXAMPLE.com",
        "example.com.",
    ] {
        let r = app.create_sso(dup, Some(false)).await;
        assert_conflict(&r);
    }
    assert_eq!(app.list_sso().await.len(), cases.len() + 1);
}

/// The DNS lookup and the code match use the normalized (punycode) name.
#[tokio::test]
async fn idna_domain_verifies_via_punycode_record() {
    let app = SsoApp::spawn(SsoOpts::new(1, 600));
    let c = app.create_ok("Bücher.Example.", Some(false)).await;
    app.dns.txt("xn--bcher-kva.example", &[&code(&c)]);
    let (c, _) = app.begin_ok(&id(&c)).await;
    assert_eq!(status(&c), "verified", "{c}");
}

/// Wrong JSON types are 400/1001 naming the field.
#[tokio::test]
async fn body_type_errors_are_400_1001() {
    let app = SsoApp::spawn(SsoOpts::new(1, 600));
    let path = app.sso("");
    app.post(&path, json!({})).await.validation("/email_domain");
    app.post(&path, json!({ "email_domain": 5 }))
        .await
        .validation("/email_domain");
    app.post(&path, json!({ "email_domain": null }))
        .await
        .validation("/email_domain");
    app.post(
        &path,
        json!({ "email_domain": "types.example", "begin_verification": "yes" }),
    )
    .await
    .validation("/begin_verification");
    app.post(
        &path,
        json!({ "email_domain": "types.example", "use_fedramp_language": 1 }),
    )
    .await
    .validation("/use_fedramp_language");
    assert!(app.list_sso().await.is_empty(), "nothing was created");

    let c = app.create_ok("types.example", Some(false)).await;
    let p = app.sso(&format!("/{}", id(&c)));
    app.patch(&p, json!({ "enabled": "true" }))
        .await
        .validation("/enabled");
    app.patch(&p, json!({ "use_fedramp_language": "no" }))
        .await
        .validation("/use_fedramp_language");
    assert_eq!(
        app.get_sso(&id(&c)).await,
        c,
        "refused PATCHes change nothing"
    );
}
