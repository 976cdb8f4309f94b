//! What the client refuses to trust: huge bodies and `Link: next` headers
//! that point away from GITHUB_API_URL's origin.

use nightshift_github::{Fetch, GitHub, GitHubError, MAX_BODY_BYTES};
use nightshift_testkit::{Canned, Replay};
use secrecy::SecretString;

fn client(base: &str) -> GitHub {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    GitHub::new(http, base, Some(SecretString::from("ghp_t".to_string()))).unwrap()
}

#[tokio::test]
async fn a_body_past_the_cap_fails_that_page_clearly() {
    let replay = Replay::start().await;
    let gh = client(&replay.url());
    let huge = format!("[{}]", " ".repeat(MAX_BODY_BYTES));
    replay.script("/repos/a/huge/issues", Canned::raw(200, &huge), None);
    let just_under = format!("[{}]", " ".repeat(MAX_BODY_BYTES - 2));
    replay.script("/repos/a/big/issues", Canned::raw(200, &just_under), None);
    let e = gh
        .fetch_issues(&gh.issues_url("a/huge", None), None)
        .await
        .unwrap_err();
    assert!(
        matches!(e, GitHubError::TooLarge { limit_mib: 10, .. }),
        "{e:?}"
    );
    assert!(!e.is_transient());
    assert!(e.to_string().contains("larger than 10 MiB"), "{e}");
    let ok = gh.fetch_issues(&gh.issues_url("a/big", None), None).await;
    assert!(matches!(ok, Ok(Fetch::Page(p)) if p.items.is_empty()));
}

#[tokio::test]
async fn a_next_link_off_the_api_origin_is_refused() {
    let replay = Replay::start().await;
    let gh = client(&replay.url());
    for (repo, next) in [
        (
            "a/meta",
            "http://169.254.169.254/latest/meta-data".to_owned(),
        ),
        // Same host, another port: another origin.
        (
            "a/port",
            "http://127.0.0.1:1/repositories/1/issues?page=2".to_owned(),
        ),
    ] {
        replay.script(
            &format!("/repos/{repo}/issues"),
            Canned::json(200, serde_json::json!([]))
                .header("Link", format!("<{next}>; rel=\"next\"")),
            None,
        );
        let e = gh
            .fetch_issues(&gh.issues_url(repo, None), None)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("not GITHUB_API_URL's host"), "{e}");
    }
    let own = format!("{}/repositories/1/issues?page=2", replay.url());
    replay.script(
        "/repos/a/own/issues",
        Canned::json(200, serde_json::json!([])).header("Link", format!("<{own}>; rel=\"next\"")),
        None,
    );
    let Ok(Fetch::Page(p)) = gh.fetch_issues(&gh.issues_url("a/own", None), None).await else {
        panic!("a next link on the API's own origin is followed")
    };
    assert_eq!(p.next.unwrap().as_str(), own);
}
