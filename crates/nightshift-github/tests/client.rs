//! The client against the replay server: pagination, conditional requests,
//! redirects and the errors a caller has to tell apart.

use nightshift_github::{Fetch, GitHub, GitHubError};
use nightshift_testkit::{Canned, Replay};
use secrecy::SecretString;

const REPO: &str = "octokit-fixture-org/tmp-scenario-paginate-issues-20220719043836917-izyoe";

fn client(base: &str) -> GitHub {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    GitHub::new(
        http,
        base,
        Some(SecretString::from("ghp_test_token".to_string())),
    )
    .unwrap()
}

#[tokio::test]
async fn walks_every_page_and_gets_304_with_the_etag() {
    let replay = Replay::start().await;
    let gh = client(&replay.url());
    let mut url = gh.issues_url(REPO, None);
    let (mut items, mut first_etag) = (0, None);
    loop {
        let Fetch::Page(page) = gh.fetch_issues(&url, None).await.unwrap() else {
            panic!("no 304 without an ETag")
        };
        items += page.items.len();
        first_etag.get_or_insert(page.etag.clone().unwrap());
        assert!(page.rate.remaining.is_some() && page.rate.reset.is_some());
        match page.next {
            Some(next) => url = next,
            None => break,
        }
    }
    assert_eq!(items, 13);
    let again = gh
        .fetch_issues(&gh.issues_url(REPO, None), first_etag.as_deref())
        .await
        .unwrap();
    assert!(matches!(again, Fetch::NotModified { .. }));
    let seen = replay.requests();
    assert!(
        seen.iter()
            .all(|s| s.header("authorization") == Some("Bearer ghp_test_token"))
    );
    assert!(
        seen[0].path_and_query.contains("state=all")
            && seen[0].path_and_query.contains("per_page=100")
    );
}

#[tokio::test]
async fn a_redirect_to_another_host_never_carries_the_token() {
    let mirror = Replay::start().await;
    let replay = Replay::start().await;
    let elsewhere = format!("{}/repositories/515435940/issues?page=2", mirror.url());
    // The last page: a `Link: next` off the API's host would be refused.
    mirror.script(
        "/repositories/515435940/issues",
        Canned::json(200, serde_json::json!([])),
        None,
    );
    replay.script(
        &format!("/repos/{REPO}/issues"),
        Canned::raw(307, "").header("Location", elsewhere),
        None,
    );
    let gh = client(&replay.url());
    let Fetch::Page(page) = gh
        .fetch_issues(&gh.issues_url(REPO, None), None)
        .await
        .unwrap()
    else {
        panic!()
    };
    assert!(page.redirected && page.next.is_none());
    assert_eq!(
        replay.requests()[0].header("authorization"),
        Some("Bearer ghp_test_token")
    );
    assert_eq!(mirror.requests()[0].header("authorization"), None);
}

#[tokio::test]
async fn errors_say_what_to_do() {
    let replay = Replay::start().await;
    let gh = client(&replay.url());
    let cases = [
        (
            "a/unauthorized",
            Canned::json(401, serde_json::json!({"message": "Bad credentials"})),
        ),
        (
            "a/limited",
            Canned::json(
                403,
                serde_json::json!({"message": "API rate limit exceeded"}),
            )
            .header("X-RateLimit-Remaining", "0")
            .header("X-RateLimit-Reset", "1900000000"),
        ),
        (
            "a/secondary",
            Canned::json(429, serde_json::json!({"message": "secondary"}))
                .header("Retry-After", "7"),
        ),
        ("a/broken", Canned::raw(502, "bad gateway")),
        (
            "a/garbled",
            Canned::raw(200, "[{\"number\": \"not a number\""),
        ),
    ];
    for (repo, canned) in &cases {
        replay.script(&format!("/repos/{repo}/issues"), canned.clone(), None);
    }
    let gh = &gh;
    let err = |r: &'static str| async move {
        gh.fetch_issues(&gh.issues_url(r, None), None)
            .await
            .unwrap_err()
    };
    assert!(matches!(
        err("a/unauthorized").await,
        GitHubError::Unauthorized
    ));
    assert!(matches!(err("a/missing").await, GitHubError::NotFound));
    match err("a/limited").await {
        GitHubError::RateLimited { reset: Some(r) } => assert_eq!(r.timestamp(), 1_900_000_000),
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(err("a/secondary").await, GitHubError::SecondaryLimit { retry_after } if retry_after.as_secs() == 7)
    );
    let e = err("a/broken").await;
    assert!(e.is_transient() && matches!(e, GitHubError::Server { status: 502 }));
    let e = err("a/garbled").await;
    assert!(
        !e.is_transient() && e.to_string().starts_with("malformed response from"),
        "{e}"
    );
}

#[tokio::test]
async fn assignees_come_in_order_with_the_lone_assignee_as_fallback() {
    let replay = Replay::start().await;
    let gh = client(&replay.url());
    let url = gh.issues_url("nightshift-fixtures/people", None);
    let Fetch::Page(page) = gh.fetch_issues(&url, None).await.unwrap() else {
        panic!("no 304 without an ETag")
    };
    let logins = |n: i32| -> Vec<String> {
        let issue = page.items.iter().find(|i| i.number == n).unwrap();
        issue
            .assignee_list()
            .iter()
            .map(|u| u.login.clone())
            .collect()
    };
    assert_eq!(logins(3), ["DAVE", "carol", "Erin"], "several");
    assert_eq!(logins(2), ["Carol"], "one");
    assert!(logins(1).is_empty(), "none");
    // #7 has `assignee` but an empty `assignees`, as older payloads do.
    assert_eq!(logins(7), ["frank"]);
    let bot = page.items.iter().find(|i| i.number == 5).unwrap();
    assert!(bot.is_pull_request());
    assert_eq!(bot.user.as_ref().unwrap().login, "dependabot[bot]");

    // `"assignees": null` reads as none rather than failing the page.
    let mut raw = nightshift_testkit::recorded_body(
        "issues-with-assignees.json",
        "/repos/nightshift-fixtures/people/issues",
    );
    raw[0]["assignees"] = serde_json::Value::Null;
    replay.script(
        "/repos/nightshift-fixtures/people/issues",
        Canned::json(200, raw),
        Some(1),
    );
    let Fetch::Page(page) = gh.fetch_issues(&url, None).await.unwrap() else {
        panic!("no 304 without an ETag")
    };
    assert_eq!(page.items[0].assignee_list()[0].login, "frank");
}
